"""The MAX channel: decoding stored updates and delivering replies with POST /messages."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from adapters.base import Decoded
from adapters.errors import PermanentFailure
from adapters.max import mapping
from adapters.max.client import MaxClient
from adapters.presses import answer_press
from dialog.messages import Button

logger = logging.getLogger("okno.adapters.max")

MAX_TEXT = 4000  # MAX refuses a longer text; the outbox splits replies at this
ANSWERED = "Принято"  # the press's answer when the pressed message has no text to keep
_SIGNATURES = ((b"%PDF", "pdf"), (b"\xff\xd8", "jpg"), (b"\x89PNG", "png"), (b"OggS", "ogg"))


class MaxChannel:
    name = mapping.CHANNEL
    max_text_length = MAX_TEXT
    deduplicates = False  # MAX has no idempotency key for a message

    def __init__(self, client: MaxClient) -> None:
        self.client = client
        self._bot_name: str | None = None

    async def bot_name(self) -> str | None:
        """The bot's short name, which its link is made of (https://max.ru/<name>); asked once."""
        if self._bot_name is None:
            me = await self.client.call("GET", "/me")
            name = me.get("username") if isinstance(me, dict) else None
            self._bot_name = str(name) if name else None
        return self._bot_name

    def decode(self, payload: dict[str, Any]) -> Decoded:
        return mapping.decode(payload)

    def display_name(self, payload: dict[str, Any]) -> str | None:
        return mapping.display_name(payload)

    async def acknowledge(self, payload: dict[str, Any], text: str | None = None) -> None:
        """A pressed button waits until answered: POST /answers keeps the pressed message as it
        is (its text again, its keyboard untouched), or shows `text` as a notification."""
        callback = payload.get("callback")
        if payload.get("update_type") != "message_callback" or not isinstance(callback, dict):
            return
        callback_id = callback.get("callback_id")
        if not callback_id:
            return
        pressed = ((payload.get("message") or {}).get("body") or {}).get("text")
        body: dict[str, Any] = {"notification": text or ANSWERED}
        if not text and pressed:  # attachments left out: MAX keeps the keyboard
            body = {"message": {"text": pressed}}
        await answer_press(
            lambda: self.client.call("POST", "/answers", {"callback_id": callback_id}, body), "MAX"
        )

    async def send(
        self, chat_id: str, text: str, buttons: Sequence[Button], key: str | None = None
    ) -> str | None:
        """Plain text (no `format`: MAX reads no markup in it, so a citizen sees `*`, `_` and `<` as
        written) with the buttons under it."""
        body: dict[str, Any] = {"text": text}
        markup = mapping.keyboard(buttons)
        if markup is not None:
            body["attachments"] = [markup]
        return _message_id(await self.client.send({"user_id": chat_id}, body))

    async def send_media(
        self,
        chat_id: str,
        kind: str,
        ref: str,
        caption: str,
        key: str | None = None,
        data: bytes | None = None,
    ) -> str | None:
        """Upload the file (POST /uploads, then the file to the URL it gives), then send it; MAX refuses
        the message while it processes the file, and the client sends it again meanwhile."""
        if data is None:
            raise PermanentFailure("a file for MAX needs its content: MAX cannot take another platform's id")
        attachment = await self.client.upload(kind, data, _file_name(kind, data))
        body: dict[str, Any] = {"attachments": [attachment]}
        if caption:
            body["text"] = caption[:MAX_TEXT]
        return _message_id(await self.client.send({"user_id": chat_id}, body))

    async def fetch_file(self, ref: str) -> bytes:
        return await self.client.download(ref)

    async def close(self) -> None:
        await self.client.close()


def _message_id(answer: Any) -> str | None:
    message = answer.get("message") if isinstance(answer, dict) else None
    body = message.get("body") if isinstance(message, dict) else None
    mid = body.get("mid") if isinstance(body, dict) else None
    return str(mid) if mid else None


def _file_name(kind: str, data: bytes) -> str:
    """The name the citizen sees: MAX shows a document by its file name."""
    extension = next((ext for magic, ext in _SIGNATURES if data.startswith(magic)), "bin")
    stem = {"photo": "photo", "voice": "voice", "audio": "audio"}.get(kind, "document")
    return f"{stem}.{extension}"
