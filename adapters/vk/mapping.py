"""VK events to normalized messages, and normalized buttons to VK keyboards."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from adapters.base import Blocked, Decoded, Ignore
from dialog.messages import Attachment, AttachmentKind, Button, InboundMessage

logger = logging.getLogger("okno.adapters.vk")

CHANNEL = "vk"
LABEL_LIMIT = 40  # VK cuts longer button labels
INLINE_ROWS = 6  # an inline keyboard: up to 6 rows and 10 buttons
TEXT_ROWS = 10  # a keyboard under the input field: up to 10 rows
INLINE_BUTTONS = 10
TEXT_BUTTONS = 40
GROUP_CHATS_FROM = 2_000_000_000
START = "\x00start"  # VK's own start button, never an id of ours  # peer ids of group conversations
_MIME = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}


def chat_key(payload: dict[str, Any]) -> str:
    return f"{CHANNEL}:{peer_of(payload) or 'unknown'}"


def peer_of(payload: dict[str, Any]) -> int | None:
    data = payload.get("object") or {}
    message = data.get("message") or {}
    peer = message.get("peer_id") or data.get("peer_id") or data.get("user_id")
    return int(peer) if isinstance(peer, int | str) and str(peer).lstrip("-").isdigit() else None


def decode(payload: dict[str, Any]) -> Decoded:
    kind = payload.get("type")
    data = payload.get("object")
    if not isinstance(data, dict):
        return Ignore("malformed event")
    try:
        if kind == "message_new":
            return _message(data)
        if kind == "message_event":
            return _pressed(data)
        if kind in ("message_allow", "message_deny"):
            return Blocked(str(int(data["user_id"])), blocked=kind == "message_deny")
    except (KeyError, TypeError, ValueError):
        logger.warning("malformed VK %s event ignored", kind)
        return Ignore("malformed event")
    return Ignore(f"unsupported event {kind}")


def inline_supported(payload: dict[str, Any]) -> bool | None:
    """What the citizen's app says about inline callback buttons, when the event tells."""
    info = (payload.get("object") or {}).get("client_info")
    if not isinstance(info, dict):
        return None
    return bool(info.get("inline_keyboard")) and "callback" in (info.get("button_actions") or ())


def _message(data: dict[str, Any]) -> Decoded:
    message = data["message"]
    peer, sender = int(message["peer_id"]), int(message["from_id"])
    if peer >= GROUP_CHATS_FROM:
        return Ignore("group conversation")
    if sender <= 0:
        return Ignore("not from a person")
    button = _button_id(message.get("payload"))
    text = "" if button else str(message.get("text") or "")
    if button == START:  # VK's «Начать» under a new conversation greets like /start
        button, text = None, "/start"
    return InboundMessage(
        channel=CHANNEL,
        chat_id=str(peer),
        user_id=str(sender),
        text=text,
        payload=button,
        attachments=tuple(_attachment(a) for a in message.get("attachments") or () if isinstance(a, dict)),
        platform_message_id=str(message.get("id") or message.get("conversation_message_id") or ""),
    )


def _pressed(data: dict[str, Any]) -> Decoded:
    payload = data.get("payload")
    button = _button_id(payload if isinstance(payload, str) else json.dumps(payload or {}))
    return InboundMessage(
        channel=CHANNEL,
        chat_id=str(int(data["peer_id"])),
        user_id=str(int(data["user_id"])),
        payload=button or "unknown",
        platform_message_id=str(data.get("event_id") or ""),
    )


def _button_id(raw: object) -> str | None:
    """Our button id in a VK payload ({"b": id}); VK's own start button sends {"command": "start"}."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return "unknown"
    if isinstance(data, dict) and data.get("command") == "start":
        return START
    return str(data["b"]) if isinstance(data, dict) and isinstance(data.get("b"), str) else "unknown"


def _attachment(item: dict[str, Any]) -> Attachment:
    kind = item.get("type")
    body = item.get(str(kind)) or {}
    if kind == "photo":
        sizes = [s for s in body.get("sizes") or () if isinstance(s, dict)]
        best = max(sizes, key=lambda s: int(s.get("width", 0)) * int(s.get("height", 0)), default={})
        return Attachment(AttachmentKind.PHOTO, None, None, "image/jpeg", best.get("url"))
    if kind == "doc":
        ext = str(body.get("ext", "")).lower()
        mime = _MIME.get(ext, "application/octet-stream")
        return Attachment(AttachmentKind.DOCUMENT, body.get("size"), body.get("title"), mime, body.get("url"))
    if kind == "audio_message":
        return _voice(body)
    kinds = {"sticker": AttachmentKind.STICKER, "video": AttachmentKind.VIDEO}
    return Attachment(kinds.get(str(kind), AttachmentKind.OTHER))


def _voice(body: dict[str, Any]) -> Attachment:
    """A voice message: VK links to the recording in OGG (Opus, what Telegram plays as a voice) and MP3."""
    link, mime = body.get("link_ogg"), "audio/ogg"
    if not isinstance(link, str) or not link:
        link, mime = body.get("link_mp3"), "audio/mpeg"
    duration = body.get("duration")
    seconds = int(duration) if isinstance(duration, int | float) else None
    return Attachment(
        AttachmentKind.VOICE, None, None, mime, link if isinstance(link, str) and link else None, seconds
    )


def keyboard(buttons: Sequence[Button], inline: bool) -> str | None:
    """The keyboard JSON: callback buttons under the message where the app has them and they fit
    (6 rows, 10 buttons), else text buttons under the input field (10 rows, 40 buttons)."""
    if not buttons:
        return None
    inline = inline and len(buttons) <= INLINE_BUTTONS
    if len(buttons) > TEXT_BUTTONS:
        logger.info("a keyboard of %d buttons is cut to VK's %d", len(buttons), TEXT_BUTTONS)
        buttons = [*buttons[: TEXT_BUTTONS - 1], buttons[-1]]  # the last one is the way back or to the menu
    rows = INLINE_ROWS if inline else TEXT_ROWS
    per_row = -(-len(buttons) // rows)  # as few per row as the row limit allows
    kind = "callback" if inline else "text"
    cells = [
        {"action": {"type": kind, "label": _label(b.label), "payload": json.dumps({"b": b.id})}}
        for b in buttons
    ]
    data = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
    return json.dumps(
        {"inline": inline, "buttons": data} | ({} if inline else {"one_time": True}), ensure_ascii=False
    )


def _label(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"
