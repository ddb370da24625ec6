"""What every channel adapter provides to the rest of Okno, in normalized terms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dialog.messages import Button, InboundMessage

# a messenger tells us a citizen edited a message; the engine answers messages, not their edits
EDITED_NOTICE = (
    "Я вижу, что вы изменили сообщение. Изменения я не отслеживаю — пожалуйста, отправьте "
    "исправленный вопрос новым сообщением."
)


@dataclass(frozen=True, slots=True)
class Ignore:
    """An update Okno deliberately does nothing with (a channel post, an unknown kind)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Notice:
    """An update answered by the adapter itself with a fixed text, without the engine."""

    chat_id: str
    user_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Blocked:
    """The citizen blocked the bot (or unblocked it, `blocked=False`)."""

    chat_id: str
    blocked: bool = True


Decoded = InboundMessage | Notice | Ignore | Blocked


class Channel(Protocol):
    """One messenger: decodes stored updates and delivers replies."""

    name: str
    max_text_length: int
    # a repeated send with the same key shows once (VK's random_id, the web chat's message id): a
    # reply that may have gone out before a crash can be sent again without a double
    deduplicates: bool

    def decode(self, payload: dict[str, Any]) -> Decoded:
        """Turn a stored platform update into a normalized message or a verdict about it."""
        ...

    def display_name(self, payload: dict[str, Any]) -> str | None:
        """The sender's name as the platform shows it, for operators."""
        ...

    async def acknowledge(self, payload: dict[str, Any], text: str | None = None) -> None:
        """Confirm an interaction the platform waits for (a pressed button), if any."""
        ...

    async def send(
        self, chat_id: str, text: str, buttons: Sequence[Button], key: str | None = None
    ) -> str | None:
        """Deliver one message; returns the platform's message id. `key` is the same for every
        retry of one reply, for platforms that can drop a repeated send (VK's random_id).

        Raises RetryLater, ChatBlocked, TemporaryFailure or PermanentFailure.
        """
        ...

    async def send_media(
        self,
        chat_id: str,
        kind: str,
        ref: str,
        caption: str,
        key: str | None = None,
        data: bytes | None = None,
    ) -> str | None:
        """Deliver a photo or document an operator sent: by this platform's file id, or from `data`
        when the file comes from another platform; raises as `send`."""
        ...

    async def fetch_file(self, ref: str) -> bytes:
        """The content of a file this platform knows by `ref` (for relaying it to another platform)."""
        ...
