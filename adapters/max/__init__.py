"""The MAX channel on the MAX Bot API: receiving (long polling, webhook), decoding and sending."""
