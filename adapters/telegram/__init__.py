"""The Telegram channel on aiogram 3: receiving (polling, webhook), decoding and sending."""
