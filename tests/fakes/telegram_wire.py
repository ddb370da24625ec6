"""The Bot API's wire format for the fake server: parameters in, errors and objects out."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
MAX_POLL_SECONDS = 5.0
BLOCKED = "Forbidden: bot was blocked by the user"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
# what Telegram answers the earlier of two getUpdates of one bot
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
# Plain-string parameters that must never be JSON-decoded (a text "123" stays "123").
TEXT_PARAMS = frozenset({"text", "caption", "name", "data", "url", "secret_token", "callback_query_id"})
RAW_PARAMS = TEXT_PARAMS | {"file_id", "photo", "document", "sticker", "icon_custom_emoji_id"}
RAW_PARAMS |= {"voice", "audio", "video_note"}
# A recording's kind: the method that sends it, and what Telegram adds to its description.
RECORDINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "voice": ("sendVoice", {"mime_type": "audio/ogg"}),
    "audio": ("sendAudio", {"mime_type": "audio/mpeg", "file_name": "audio.mp3"}),
    "video_note": ("sendVideoNote", {"length": 240}),
}
# Update kinds Telegram delivers only when they are asked for in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Methods that post into a chat, so they answer 403 once the user has blocked the bot.
SEND_PREFIXES = ("send", "edit", "copy", "forward")
# The bot's administrator rights, each "can_<right>": all granted except promoting members.
ADMIN_RIGHTS: tuple[str, ...] = (
    "manage_chat",
    "delete_messages",
    "manage_video_chats",
    "restrict_members",
    "change_info",
)
ADMIN_RIGHTS += ("invite_users", "post_stories", "edit_stories", "delete_stories", "pin_messages")
ADMIN_RIGHTS += ("send_welcome_messages", "manage_topics")


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": status, "description": ...}``."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def response(self) -> web.Response:
        if self.description.startswith("<html>"):  # the page Telegram's nginx gives for a 502
            return web.Response(text=self.description, status=self.status, content_type="text/html")
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.status)


@dataclass
class Call:
    """One API request; ``files`` are uploads by parameter, ``status`` the HTTP status answered."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 0


async def read_params(request: web.Request) -> tuple[JSON, dict[str, bytes]]:
    """Parameters from the query and a JSON, urlencoded or multipart body, plus uploads by parameter."""
    raw: JSON = dict(request.query)
    uploads: dict[str, bytes] = {}
    if request.content_type == "application/json" and request.body_exists:
        body = await request.json()
        raw.update(body if isinstance(body, dict) else {})
    elif request.body_exists:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                uploads[key] = value.file.read()
            else:
                raw[key] = value if isinstance(value, str) else value.decode()
    params = {key: _decode(key, value) for key, value in raw.items()}
    return params, _attach(params, uploads)


def _decode(key: str, value: Any) -> Any:
    """Form fields are strings; complex ones (reply_markup, allowed_updates) and numbers are JSON."""
    if not isinstance(value, str) or key in RAW_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _attach(params: JSON, uploads: dict[str, bytes]) -> dict[str, bytes]:
    """Match uploads to parameters: ``photo=attach://<part>`` (aiogram) or a part named ``photo``."""
    files: dict[str, bytes] = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in uploads:
            files[key] = uploads.pop(value[9:])
    for name, content in uploads.items():
        params.setdefault(name, f"attach://{name}")
        files[name] = content
    return files


def fault(status: int, retry_after: int, description: str) -> ApiError:
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return ApiError(status, description or f"Too Many Requests: retry after {retry_after}", retry_after)
    defaults = {400: "Bad Request", 403: BLOCKED, 500: "Internal Server Error"}
    return ApiError(status, description or defaults.get(status, HTTPStatus(status).phrase))


def required(params: JSON, key: str) -> Any:
    if params.get(key) in (None, ""):
        raise ApiError(400, f"Bad Request: {'message ' if key == 'text' else ''}{key} is empty")
    return params[key]


def chat_id_of(params: JSON) -> int:
    chat_id = required(params, "chat_id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise ApiError(400, "Bad Request: chat not found")
    return chat_id


def set_markup(message: JSON, params: JSON) -> None:
    """Telegram echoes only inline keyboards; an edit without reply_markup removes the keyboard."""
    message.pop("reply_markup", None)
    if isinstance(markup := params.get("reply_markup"), dict) and "inline_keyboard" in markup:
        message["reply_markup"] = markup


def caption_of(params: JSON) -> JSON:
    return {"caption": params["caption"]} if "caption" in params else {}


def user_object(user_id: int, first_name: str) -> JSON:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "ru"}


def file_object(file_id: str, size: int, **extra: Any) -> JSON:
    return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size, **extra}


def photo_size(file_id: str, size: int, width: int = 1280) -> JSON:
    return file_object(file_id, size, width=width, height=width * 3 // 4)


def administrator(user: JSON, **rights: bool) -> JSON:
    member: JSON = {"status": "administrator", "user": user, "can_be_edited": False, "is_anonymous": False}
    return (
        member | {f"can_{right}": True for right in ADMIN_RIGHTS} | {"can_promote_members": False, **rights}
    )


def brief(params: JSON) -> str:
    return json.dumps(params, ensure_ascii=False, default=str)[:200]


def bot_id_of(token: str) -> int:
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 1
