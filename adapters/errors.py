"""The error tree of the adapters package: how a delivery attempt failed."""


class AdapterError(Exception):
    """Base of every error an adapter raises."""


class RetryLater(AdapterError):
    """The platform asked us to slow down; try the same message again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class ChatBlocked(AdapterError):
    """The citizen blocked the bot or deleted the chat; nothing more can be sent there."""


class TemporaryFailure(AdapterError):
    """A server error or a network problem: worth retrying with backoff."""


class PermanentFailure(AdapterError):
    """The platform refused this message for good (bad request); retrying will not help."""


class ThreadGone(PermanentFailure):
    """The thread or message addressed is no more (a forum topic deleted or closed by hand, a message
    deleted): what lives in it has to be created again."""


class BadToken(AdapterError):
    """The platform refused the token (Telegram's): nothing can work until it is fixed. Defined here, not
    with the Telegram adapter, so that catching it does not load aiogram."""
