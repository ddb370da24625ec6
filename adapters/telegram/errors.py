"""What a failed Bot API call means, in the adapters' error tree: the one translation of aiogram's
errors, for the citizens' chats and the operators' group alike."""

from __future__ import annotations

from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from adapters.errors import (
    AdapterError,
    ChatBlocked,
    PermanentFailure,
    RetryLater,
    TemporaryFailure,
    ThreadGone,
)

# how the Bot API says a forum topic (or a message in it) is no more
_GONE = (
    "message thread not found",
    "topic_deleted",
    "topic_closed",
    "topic_id_invalid",
    "message to edit not found",
)


def translated(exc: AiogramError) -> AdapterError:
    """The adapter error that says what to do about the failure."""
    if isinstance(exc, TelegramRetryAfter):
        return RetryLater(float(exc.retry_after))
    if isinstance(exc, TelegramBadRequest | TelegramNotFound):
        return _refused(exc.message)
    if isinstance(exc, TelegramUnauthorizedError):
        return PermanentFailure("the bot token was rejected (Unauthorized)")
    for kinds, error in _MEANINGS:
        if isinstance(exc, kinds):
            return error(str(exc) if error is TemporaryFailure else getattr(exc, "message", str(exc)))
    # anything else aiogram cannot make sense of (a newer or odd Bot API server): the error says why
    return PermanentFailure(f"Telegram's answer could not be used: {exc}")


def _refused(message: str) -> AdapterError:
    lowered = message.lower()
    if any(marker in lowered for marker in _GONE):
        return ThreadGone(message)
    if "chat not found" in lowered:
        return ChatBlocked(message)
    return PermanentFailure(message)


_MEANINGS: tuple[tuple[type[AiogramError] | tuple[type[AiogramError], ...], type[AdapterError]], ...] = (
    # blocked by the citizen, or the bot removed from the operators' group
    (TelegramForbiddenError, ChatBlocked),
    # aiogram files a too large file under network errors; retrying cannot help
    (TelegramEntityTooLarge, PermanentFailure),
    # ClientDecodeError: an HTML error page instead of JSON, as Telegram's nginx answers a 502
    ((TelegramServerError, TelegramNetworkError, ClientDecodeError), TemporaryFailure),
)
