"""Telegram updates to normalized messages, and normalized buttons to inline keyboards."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from pydantic import ValidationError

from adapters.base import EDITED_NOTICE, Blocked, Decoded, Ignore, Notice
from dialog.messages import Attachment, AttachmentKind, Button, InboundMessage

logger = logging.getLogger("okno.adapters.telegram")

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


class ButtonData(CallbackData, prefix="b", sep="|"):
    """Callback data of an inline button: the engine's button id."""

    p: str


def keyboard_dict(buttons: Sequence[Button]) -> dict[str, Any] | None:
    """The inline keyboard, one button per row (labels are long Russian phrases), as the Bot API's
    JSON object; built once per distinct set of buttons."""
    return _keyboard_dict(tuple(buttons)) if buttons else None


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """The same keyboard as an aiogram object, for methods other than the plain send."""
    return _keyboard(tuple(buttons)) if buttons else None


@functools.lru_cache(maxsize=1024)
def _keyboard_dict(buttons: tuple[Button, ...]) -> dict[str, Any]:
    return _keyboard(buttons).model_dump(mode="json", exclude_none=True)


@functools.lru_cache(maxsize=1024)
def _keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup:
    # the same few keyboards (menu, Да/Нет) go out all the time; building one costs more than sending
    rows = [[InlineKeyboardButton(text=b.label, callback_data=ButtonData(p=b.id).pack())] for b in buttons]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def button_payload(data: str | None) -> str:
    """The engine's button id in callback data; forged or foreign data gives an unknown id."""
    try:
        return ButtonData.unpack(data or "").p
    except (ValueError, TypeError, ValidationError):
        return "unknown"


def parse_update(payload: dict[str, Any]) -> Update | None:
    try:
        return Update.model_validate(payload)
    except ValidationError:
        logger.warning("malformed Telegram update ignored")
        return None


def chat_key(payload: dict[str, Any]) -> str:
    """The chat an update belongs to, so that one chat's updates are handled in order. Works on the
    raw JSON before validation, so any part may be of the wrong type: such an update gets a key of
    its own kind and is ignored later, when it fails validation."""
    for kind in ("message", "edited_message", "my_chat_member"):
        chat = _object(_object(payload.get(kind)).get("chat"))
        if "id" in chat:
            return _key(chat["id"])
    callback = _object(payload.get("callback_query"))
    chat = _object(_object(callback.get("message")).get("chat")) or _object(callback.get("from"))
    return _key(chat.get("id", "unknown"))


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _key(chat_id: Any) -> str:
    valid = isinstance(chat_id, int) and not isinstance(chat_id, bool) and abs(chat_id) < 10**16
    return f"{CHANNEL}:{chat_id}" if valid or chat_id == "unknown" else f"{CHANNEL}:invalid"


def decode(payload: dict[str, Any], allow_groups: bool) -> Decoded:
    update = parse_update(payload)
    if update is None:
        return Ignore("malformed update")
    if update.message is not None:
        return _message(update.message, allow_groups)
    if update.edited_message is not None:
        return _edited(update.edited_message, allow_groups)
    if update.callback_query is not None:
        query = update.callback_query
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        return InboundMessage(
            channel=CHANNEL,
            chat_id=str(chat_id),
            user_id=str(query.from_user.id),
            payload=button_payload(query.data),
            platform_message_id=query.id,
        )
    if update.my_chat_member is not None and update.my_chat_member.chat.type == "private":
        member = update.my_chat_member
        return Blocked(str(member.chat.id), blocked=member.new_chat_member.status == "kicked")
    return Ignore("unsupported update kind")


def _edited(message: Message, allow_groups: bool) -> Decoded:
    if not _accepted_chat(message, allow_groups):
        return Ignore("group chat")
    user_id = str(message.from_user.id) if message.from_user else ""
    return Notice(str(message.chat.id), user_id, EDITED_NOTICE)


def _accepted_chat(message: Message, allow_groups: bool) -> bool:
    return message.chat.type == "private" or (allow_groups and message.chat.type in ("group", "supergroup"))


def _message(message: Message, allow_groups: bool) -> Decoded:
    if not _accepted_chat(message, allow_groups):
        return Ignore(f"{message.chat.type} chat")
    if message.from_user is None or message.from_user.is_bot:
        return Ignore("not from a person")
    text = message.text or message.caption or ""
    if text.startswith("/"):
        command, _, rest = text.partition(" ")
        text = command.split("@", 1)[0] + (" " + rest if rest else "")
    return InboundMessage(
        channel=CHANNEL,
        chat_id=str(message.chat.id),
        user_id=str(message.from_user.id),
        text=text,
        attachments=attachments(message),
        platform_message_id=str(message.message_id),
        sent_at=message.date,
    )


def display_name(payload: dict[str, Any]) -> str | None:
    for kind in ("message", "edited_message", "callback_query"):
        person = (payload.get(kind) or {}).get("from")
        if person:
            name = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)
            return name or person.get("username")
    return None


def attachments(message: Message) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if message.photo:
        best = message.photo[-1]
        found.append(Attachment(AttachmentKind.PHOTO, best.file_size, None, "image/jpeg", best.file_id))
    if message.document:
        doc = message.document
        found.append(
            Attachment(AttachmentKind.DOCUMENT, doc.file_size, doc.file_name, doc.mime_type, doc.file_id)
        )
    if message.sticker:
        found.append(Attachment(AttachmentKind.STICKER, None, message.sticker.emoji))
    found += _recordings(message)
    if message.video or message.animation:
        found.append(Attachment(AttachmentKind.VIDEO))
    if message.location or message.venue:
        found.append(Attachment(AttachmentKind.LOCATION))
    if message.contact or message.poll or message.dice:
        found.append(Attachment(AttachmentKind.OTHER))
    return tuple(found)


def _recordings(message: Message) -> list[Attachment]:
    """A voice note, an audio file or a round video: passed to an operator by its file id."""
    found = []
    if voice := message.voice:
        mime = voice.mime_type or "audio/ogg"
        found.append(
            Attachment(AttachmentKind.VOICE, voice.file_size, None, mime, voice.file_id, voice.duration)
        )
    if audio := message.audio:
        mime = audio.mime_type or "audio/mpeg"
        found.append(
            Attachment(
                AttachmentKind.AUDIO, audio.file_size, audio.file_name, mime, audio.file_id, audio.duration
            )
        )
    if note := message.video_note:
        found.append(
            Attachment(
                AttachmentKind.VIDEO_NOTE, note.file_size, None, "video/mp4", note.file_id, note.duration
            )
        )
    return found
