"""The web chat as a channel: stored chat frames to normalized messages, replies to open sockets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.base import Decoded, Ignore
from adapters.errors import PermanentFailure
from adapters.web.voice import OGG_MIME
from dialog.messages import Attachment, AttachmentKind, Button, InboundMessage
from dialog.ticket_talk import IMAGE_TYPES
from storage.fanout import Fanout, LocalFanout
from storage.file_links import LOCAL_FILE
from storage.web import HistoryItem, WebStore

logger = logging.getLogger("okno.adapters.web")

CHANNEL = "web"
MAX_TEXT = 4000
QUEUE_LIMIT = 200  # frames waiting for one slow socket before it is dropped (it reloads history)


class ChatHub:
    """The sockets open for each visitor in this process; a visitor may have several tabs."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any] | None]]] = {}

    def subscribe(self, chat_id: str) -> asyncio.Queue[dict[str, Any] | None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)
        self._queues.setdefault(chat_id, set()).add(queue)
        return queue

    def unsubscribe(self, chat_id: str, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        queues = self._queues.get(chat_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[chat_id]

    def publish(self, chat_id: str, frame: dict[str, Any]) -> int:
        """Hand the frame to every socket of the visitor; a socket too far behind is told to close."""
        queues = list(self._queues.get(chat_id, ()))
        for queue in queues:
            try:
                queue.put_nowait(frame)
            except asyncio.QueueFull:
                logger.info("a web chat socket fell behind; it will reload its history")
                self.unsubscribe(chat_id, queue)
                queue.get_nowait()
                queue.put_nowait(None)
        return len(queues)

    def sockets(self) -> int:
        return sum(len(q) for q in self._queues.values())


def message_frame(
    message_id: str,
    sender: str,
    text: str,
    buttons: Sequence[Sequence[str]] = (),
    file: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "type": "message",
        "id": message_id,
        "from": sender,
        "text": text,
        "buttons": [{"id": b[0], "label": b[1]} for b in buttons],
        "file": file,
        "at": (at or datetime.now(UTC)).isoformat(),
    }


def history_frame(item: HistoryItem) -> dict[str, Any]:
    """A stored message as the chat shows it; what the citizen sent comes back as theirs."""
    if item.direction == "in":
        files = [a for a in item.attachments if a.get("ref")]
        file = _file_of(files[0]) if files else None
        return message_frame(f"m{item.id}", "citizen", item.text, (), file, item.at)
    file = None
    media = item.media or {}
    if media.get("ref") and media.get("source", CHANNEL) == CHANNEL:  # files of other platforms stay there
        kind = "photo" if media.get("kind") == "photo" else "document"
        file = {"url": str(media.get("url") or ""), "name": "", "kind": kind}
    sender = "operator" if item.outcome == "operator" else "bot"
    return message_frame(f"m{item.id}", sender, item.text, item.buttons, file, item.at)


def _file_of(attachment: dict[str, Any]) -> dict[str, Any]:
    kind = attachment.get("kind")
    shown = kind if kind in (AttachmentKind.PHOTO.value, AttachmentKind.VOICE.value) else "document"
    return {"url": str(attachment.get("url") or ""), "name": attachment.get("name") or "", "kind": shown}


def _attachment(file: dict[str, Any]) -> Attachment:
    """A file the visitor sent: a photo, a voice message recorded on the page, or a document."""
    mime = str(file.get("mime") or "")
    ref = LOCAL_FILE + str(file.get("ref") or "")
    if mime == OGG_MIME:
        duration = file.get("duration")
        seconds = duration if isinstance(duration, int) else None
        return Attachment(AttachmentKind.VOICE, int(file.get("size") or 0), None, mime, ref, seconds)
    kind = AttachmentKind.PHOTO if mime in IMAGE_TYPES else AttachmentKind.DOCUMENT
    return Attachment(kind, int(file.get("size") or 0), str(file.get("name") or ""), mime, ref)


class WebChannel:
    """Delivery is a push to the visitor's open sockets; one who is away sees it in their history."""

    name = CHANNEL
    max_text_length = MAX_TEXT
    deduplicates = True  # the widget shows a message id once

    def __init__(self, store: WebStore, hub: ChatHub | None = None, fanout: Fanout | None = None) -> None:
        self.store = store
        self.hub = hub or ChatHub()
        self.fanout = fanout or LocalFanout(self.hub.publish)  # Redis when several processes serve

    def decode(self, payload: dict[str, Any]) -> Decoded:
        chat_id = payload.get("visitor")
        if not isinstance(chat_id, str) or not chat_id:
            return Ignore("malformed web chat frame")
        files = payload.get("files") or []
        attachments = tuple(_attachment(f) for f in files if isinstance(f, dict) and f.get("ref"))
        button = payload.get("button")
        return InboundMessage(
            channel=CHANNEL,
            chat_id=chat_id,
            user_id=chat_id,
            text="" if button else str(payload.get("text") or "")[:MAX_TEXT],
            payload=str(button) if button else None,
            attachments=attachments,
            platform_message_id=str(payload.get("id") or ""),
        )

    def display_name(self, payload: dict[str, Any]) -> str | None:
        return "Посетитель сайта"

    async def acknowledge(self, payload: dict[str, Any], text: str | None = None) -> None:
        return None  # the socket acknowledged the frame when it was stored

    async def send(
        self, chat_id: str, text: str, buttons: Sequence[Button], key: str | None = None
    ) -> str | None:
        message_id = f"o{key}" if key else f"o{datetime.now(UTC).timestamp()}"
        rows = [(b.id, b.label) for b in buttons]
        sender = "bot"
        if key and key.isdigit() and not buttons:  # the bot's replies carry buttons; people's never do
            sender = "operator" if await self.store.outcome_of(int(key)) == "operator" else "bot"
        await self.fanout.publish(chat_id, message_frame(message_id, sender, text, rows))
        return message_id

    async def send_media(
        self,
        chat_id: str,
        kind: str,
        ref: str,
        caption: str,
        key: str | None = None,
        data: bytes | None = None,
    ) -> str | None:
        if data is not None:  # a file from the operators' messenger: kept here so the page can show it
            mime = "image/jpeg" if kind == "photo" else "application/octet-stream"
            ref = await self.store.save_file(chat_id, "", mime, data)
        elif await self.store.file(ref) is None:
            raise PermanentFailure("the file to send is not in the web chat's store")
        message_id = f"o{key}" if key else f"f{ref[:8]}"
        file = {
            "url": self.store.links.url(ref),
            "name": "",
            "kind": "photo" if kind == "photo" else "document",
        }
        await self.fanout.publish(chat_id, message_frame(message_id, "operator", caption, (), file))
        return f"{message_id}|{ref}"

    async def fetch_file(self, ref: str) -> bytes:
        stored = await self.store.file(ref.removeprefix(LOCAL_FILE))
        if stored is None:
            raise PermanentFailure("the web chat file is gone")
        return bytes(stored.data)

    async def close(self) -> None:
        return None
