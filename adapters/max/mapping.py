"""MAX updates to normalized messages, and normalized buttons to MAX's inline keyboard."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from adapters.base import EDITED_NOTICE, Blocked, Decoded, Ignore, Notice
from dialog.messages import Attachment, AttachmentKind, Button, InboundMessage

logger = logging.getLogger("okno.adapters.max")

CHANNEL = "max"
# what Okno asks MAX for; any other kind that comes anyway is ignored on purpose
UPDATE_TYPES = ("message_created", "message_callback", "message_edited", "bot_started", "bot_stopped")
ROWS, PER_ROW, BUTTONS = 30, 7, 210  # MAX's inline keyboard: 30 rows of up to 7, 210 buttons
LABEL_LIMIT = 128
PAYLOAD_LIMIT = 1024
_MIME = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}


def chat_of(update: dict[str, Any]) -> int | None:
    """The citizen's user id, which Okno knows a MAX dialog by (replies go to `?user_id=`, so a
    chat is its citizen, as in Telegram's and VK's private chats)."""
    message, callback = _dict(update.get("message")), _dict(update.get("callback"))
    person = _dict(callback.get("user") or update.get("user") or message.get("sender"))
    found = person.get("user_id")
    return int(found) if isinstance(found, int | str) and str(found).lstrip("-").isdigit() else None


def chat_key(update: dict[str, Any]) -> str:
    return f"{CHANNEL}:{chat_of(update) or 'unknown'}"


def update_key(update: dict[str, Any]) -> str:
    """What tells an update from a redelivery of it (MAX updates carry no id of their own): the
    message's id, the press's callback id, else the chat and the time."""
    kind = str(update.get("update_type") or "unknown")
    message, callback = _dict(update.get("message")), _dict(update.get("callback"))
    mid = _dict(message.get("body")).get("mid")
    if kind == "message_callback" and callback.get("callback_id"):
        return f"{CHANNEL}:press:{callback['callback_id']}"
    if kind == "message_created" and mid:
        return f"{CHANNEL}:message:{mid}"
    stamp = update.get("timestamp")
    return f"{CHANNEL}:{kind}:{mid or chat_of(update)}:{stamp}"


def decode(update: dict[str, Any]) -> Decoded:
    kind = update.get("update_type")
    decoder = _DECODERS.get(str(kind))
    if decoder is None:
        return Ignore(f"unsupported update {kind}")
    try:
        return decoder(update)
    except (KeyError, TypeError, ValueError, AttributeError):
        logger.warning("malformed MAX %s update ignored", kind)
        return Ignore("malformed update")


def _started(update: dict[str, Any]) -> Decoded:
    """Start in a new dialog, or again after stopping the bot: the greeting."""
    user_id = str(int(update["user"]["user_id"]))
    return InboundMessage(channel=CHANNEL, chat_id=user_id, user_id=user_id, text="/start")


def _stopped(update: dict[str, Any]) -> Decoded:
    return Blocked(str(int(update["user"]["user_id"])))


def _message(message: dict[str, Any]) -> Decoded:
    recipient, sender, body = message["recipient"], message["sender"], message.get("body") or {}
    if recipient.get("chat_type") != "dialog":
        return Ignore("group chat")
    if sender.get("is_bot"):
        return Ignore("not from a person")
    user_id = str(int(sender["user_id"]))
    return InboundMessage(
        channel=CHANNEL,
        chat_id=user_id,
        user_id=user_id,
        text=str(body.get("text") or ""),
        attachments=tuple(_attachment(a) for a in body.get("attachments") or () if isinstance(a, dict)),
        platform_message_id=str(body.get("mid") or ""),
    )


def _pressed(update: dict[str, Any]) -> Decoded:
    callback = update["callback"]
    user_id = str(int(callback["user"]["user_id"]))
    payload = callback.get("payload")
    return InboundMessage(
        channel=CHANNEL,
        chat_id=user_id,
        user_id=user_id,
        payload=payload if isinstance(payload, str) and payload else "unknown",
        platform_message_id=str(callback.get("callback_id") or ""),
    )


def _edited(message: dict[str, Any]) -> Decoded:
    recipient, sender = message["recipient"], message["sender"]
    if recipient.get("chat_type") != "dialog" or sender.get("is_bot"):
        return Ignore("not a citizen's message")
    user_id = str(int(sender["user_id"]))
    return Notice(user_id, user_id, EDITED_NOTICE)


def _attachment(item: dict[str, Any]) -> Attachment:
    kind, payload = item.get("type"), item.get("payload") or {}
    url = payload.get("url") if isinstance(payload, dict) else None
    url = url if isinstance(url, str) and url else None
    if kind == "image":
        return Attachment(AttachmentKind.PHOTO, None, None, "image/jpeg", url)
    if kind == "file":
        name = item.get("filename") if isinstance(item.get("filename"), str) else None
        mime = _MIME.get((name or "").rsplit(".", 1)[-1].lower(), "application/octet-stream")
        size = item.get("size") if isinstance(item.get("size"), int) else None
        return Attachment(AttachmentKind.DOCUMENT, size, name, mime, url)
    if kind == "audio":  # a voice message arrives as an audio attachment
        return Attachment(AttachmentKind.VOICE, None, None, "audio/ogg", url)
    if kind == "sticker":
        return Attachment(AttachmentKind.STICKER)
    kinds = {"video": AttachmentKind.VIDEO, "location": AttachmentKind.LOCATION}
    return Attachment(kinds.get(str(kind), AttachmentKind.OTHER))


_DECODERS: dict[str, Callable[[dict[str, Any]], Decoded]] = {
    "message_created": lambda update: _message(update["message"]),
    "message_callback": _pressed,
    "message_edited": lambda update: _edited(update["message"]),
    "bot_started": _started,
    "bot_stopped": _stopped,
}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def display_name(update: dict[str, Any]) -> str | None:
    message, callback = _dict(update.get("message")), _dict(update.get("callback"))
    sender = callback.get("user") or update.get("user") or message.get("sender")
    if not isinstance(sender, dict) or sender.get("is_bot"):
        return None
    name = " ".join(str(p) for p in (sender.get("first_name"), sender.get("last_name")) if p)
    return name or sender.get("name") or sender.get("username")


def keyboard(buttons: Sequence[Button]) -> dict[str, Any] | None:
    """Callback buttons under the message: one a row while they fit in 30 rows, more a row beyond."""
    if not buttons:
        return None
    if len(buttons) > BUTTONS:
        logger.info("a keyboard of %d buttons is cut to MAX's %d", len(buttons), BUTTONS)
        buttons = [*buttons[: BUTTONS - 1], buttons[-1]]  # the last one is the way back or to the menu
    per_row = min(PER_ROW, -(-len(buttons) // ROWS))
    cells = [{"type": "callback", "text": _label(b.label), "payload": b.id[:PAYLOAD_LIMIT]} for b in buttons]
    rows = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
    return {"type": "inline_keyboard", "payload": {"buttons": rows}}


def _label(text: str) -> str:
    text = text.strip() or "…"
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"
