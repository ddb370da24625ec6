"""The MAX Bot API's wire format for the fake server: objects out, request bodies checked like MAX's.

Shapes follow MAX's OpenAPI schema and the official Go client's JSON stubs (tests/data/max_schema/README.md
says where from). Errors are ``{"code", "message"}`` with an HTTP status. Times are Unix milliseconds.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

JSON = dict[str, Any]

# What the fake stands in for: the official Go client's default (the 2026-07 schema also names platform-api2)
API_URL = "https://platform-api.max.ru"
SECRET_HEADER = "X-Max-Bot-Api-Secret"
TEXT_LIMIT = 4000
POLL_LIMIT = (1, 1000, 100)  # min, max, default of GET /updates?limit
POLL_TIMEOUT = (0, 90, 30)  # seconds, likewise for ?timeout
FORMATS = ("markdown", "html")
UPLOAD_TYPES = ("image", "video", "audio", "file")  # also the media attachments sent by upload token
ATTACHMENT_TYPES = (*UPLOAD_TYPES, "sticker", "contact", "inline_keyboard", "location", "share")
# Keyboard limits of dev.max.ru/docs-api ("Клавиатура"): the schema itself has only the per-button ones.
MAX_ROWS, MAX_PER_ROW, MAX_WIDE_PER_ROW, MAX_BUTTONS = 30, 7, 3, 210
WIDE_BUTTONS = ("link", "open_app", "request_geo_location", "request_contact")
BUTTON_TYPES = ("callback", "message", "clipboard", "chat", *WIDE_BUTTONS)
BUTTON_TEXT_MAX, BUTTON_PAYLOAD_MAX, BUTTON_URL_MAX = 128, 1024, 2048
SECRET = re.compile(r"^[a-zA-Z0-9_-]{5,256}$")
NOT_READY = "Key: errors.process.attachment.file.not.processed"  # the schema's example answer
SAMPLE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64)) + b"\xff\xd9"
# Default bodies of injected faults: 400, 401 and 429 are MAX's codes, the others plausible guesses.
FAULTS = {
    400: ("proto.payload", "Invalid request payload"),
    401: ("verify.token", "Invalid access_token"),
    403: ("access.denied", "Access denied"),
    404: ("not.found", "Not found"),
    405: ("method.not.allowed", "Method not allowed"),
    429: ("too.many.requests", "Too many requests"),
    500: ("internal.error", "Internal server error"),
    502: ("service.unavailable", "Bad gateway"),
    503: ("service.unavailable", "Service unavailable"),
}


class MaxError(Exception):
    """A MAX API error: an HTTP status and a ``{"code", "message"}`` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{status} {code}: {message}")

    def body(self) -> JSON:
        return {"code": self.code, "message": self.message}


def proto(message: str) -> MaxError:
    """The 400 MAX answers to a request it cannot accept."""
    return MaxError(400, "proto.payload", message)


def fault_error(status: int, body: JSON | None = None) -> MaxError:
    code, message = FAULTS.get(status, ("internal.error", "Internal server error"))
    body = body or {}
    return MaxError(status, str(body.get("code", code)), str(body.get("message", message)))


def html_page(status: int) -> str:
    """The page a proxy in front of the API answers when the API behind it is down."""
    title = f"{status} Bad Gateway" if status == 502 else f"{status} Error"
    heading = f"<center><h1>{title}</h1></center>"
    return f"<html><head><title>{title}</title></head><body>{heading}<hr><center>nginx</center></body></html>"


@dataclass
class Call:
    """One request: ``method`` is "VERB /first-path-segment" (``GET /updates``, ``POST /upload``)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any = None
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    code: str = ""


@dataclass
class Fault:
    """An injected fault for requests to ``segment`` (by ``verb``, or any verb when None)."""

    verb: str | None
    segment: str
    status: int = 500
    body: JSON | None = None
    html: bool = False
    seconds: float = 0.0  # hang_next: answer this much later instead


def fault_target(path_or_method: str) -> tuple[str | None, str]:
    """ "POST /messages" -> ("POST", "messages"); "/messages" or "messages" -> (None, "messages")."""
    verb, _, path = path_or_method.strip().rpartition(" ")
    return (verb.upper() or None), path.strip("/").split("/")[0]


def take_fault(faults: list[Fault], verb: str, segment: str) -> Fault | None:
    for fault in faults:
        if fault.segment == segment and fault.verb in (None, verb):
            faults.remove(fault)
            return fault
    return None


@dataclass
class Delivery:
    """One webhook POST: ``secret`` is the header sent; ``status`` 0 when the connection failed."""

    url: str
    update: JSON
    secret: str | None
    status: int
    answer: str
    attempt: int = 1


@dataclass
class Upload:
    """A file posted to an upload URL; its ``token`` goes into a message attachment, which is answered
    attachment.not.ready ``not_ready`` more times (MAX is still processing the file)."""

    kind: str
    filename: str
    content: bytes
    token: str
    not_ready: int = 0


def now_ms() -> int:
    return int(time.time() * 1000)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def answer(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


def brief(call: Call) -> str:
    return f"{call.method} {dumps(call.query)} {dumps(call.body)[:160] if call.body is not None else ''}"


def user_object(user_id: int, first_name: str, last_name: str = "", username: str | None = None) -> JSON:
    """A person as MAX shows one; ``username`` is left out when the user has none, as MAX does."""
    user: JSON = {"user_id": user_id, "first_name": first_name, "last_name": last_name, "is_bot": False}
    user |= {"last_activity_time": now_ms() - 5000, "name": f"{first_name} {last_name}".strip()}
    return user | ({"username": username} if username else {})


def bot_object(user_id: int, name: str, username: str) -> JSON:
    """The bot as the sender of its messages (a bot has no ``last_name``)."""
    bot: JSON = {"user_id": user_id, "first_name": name, "username": username, "is_bot": True}
    return bot | {"last_activity_time": now_ms(), "name": name}


def bot_info(bot: JSON, description: str) -> JSON:
    """GET /me: the BotInfo variant of User."""
    avatar = "https://i.oneme.ru/i?r=fake-avatar"
    return bot | {"description": description, "avatar_url": avatar, "full_avatar_url": avatar}


def message_object(
    sender: JSON, recipient: JSON, mid: str, seq: int, text: str, attachments: list[JSON]
) -> JSON:
    body: JSON = {"mid": mid, "seq": seq, "text": text} | (
        {"attachments": attachments} if attachments else {}
    )
    return {"recipient": recipient, "timestamp": now_ms(), "body": body, "sender": sender}


def dialog_recipient(chat_id: int, user_id: int) -> JSON:
    """In a dialog ``user_id`` is the other side: the bot in a citizen's message, the citizen in the bot's."""
    return {"chat_id": chat_id, "chat_type": "dialog", "user_id": user_id}


def update(kind: str, **fields: Any) -> JSON:
    return {"timestamp": now_ms(), **fields, "update_type": kind}


def chat_object(chat_id: int, user: JSON) -> JSON:
    """GET /chats/{id} for a dialog."""
    chat: JSON = {"chat_id": chat_id, "type": "dialog", "status": "active", "last_event_time": now_ms()}
    return chat | {"participants_count": 2, "is_public": False, "dialog_with_user": user}


def image_object(photo_id: int, token: str, url: str) -> JSON:
    return {"type": "image", "payload": {"photo_id": photo_id, "token": token, "url": url}}


def file_object(url: str, token: str, filename: str, size: int) -> JSON:
    return {"type": "file", "payload": {"url": url, "token": token}, "filename": filename, "size": size}


def audio_object(url: str, token: str) -> JSON:
    """A voice message arrives as an ``audio`` attachment (MediaAttachmentPayload: url and token)."""
    return {"type": "audio", "payload": {"url": url, "token": token}}


def sticker_object(url: str, code: str, width: int = 512, height: int = 512) -> JSON:
    return {"type": "sticker", "payload": {"url": url, "code": code}, "width": width, "height": height}


def upload_answer(kind: str, token: str, photo_id: int) -> web.Response:
    """What the upload host answers to the file: PhotoTokens for images, ``{"token"}`` for files, and
    ``<retval>1</retval>`` for video and audio (whose token came with the upload URL)."""
    if kind == "image":
        return answer({"photos": {str(photo_id): {"token": token}}})
    if kind == "file":
        return answer({"token": token})
    xml = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<retval>1</retval>'
    return web.Response(text=xml, content_type="application/xml")


async def read_json(request: web.Request) -> Any:
    """The JSON body of a request, if any; MAX answers 400 to one it cannot parse."""
    raw = await request.read() if request.can_read_body else b""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise proto("Can't deserialize body") from None


async def read_upload(request: web.Request) -> tuple[str, bytes]:
    """(file name, content) posted to an upload URL: multipart (any file field, MAX's clients name it
    ``data``) or, for a resumable upload, the raw body with ``X-File-Name``."""
    if request.content_type.startswith("multipart/"):
        for value in (await request.post()).values():
            if isinstance(value, web.FileField):
                return urllib.parse.unquote(value.filename), value.file.read()  # aiohttp %-quotes names
        raise proto("No file in the request")
    return request.headers.get("X-File-Name", "upload.bin"), await request.read()


def apply_edit(message: JSON, body: JSON) -> None:
    """PUT /messages or a callback answer: ``text`` and ``attachments`` replace the old ones when given
    (an empty list removes the attachments; null leaves them)."""
    if body.get("text") is not None:
        message["body"]["text"] = body["text"]
    if body.get("attachments") is not None:
        message["body"].pop("attachments", None)
        if body["attachments"]:
            message["body"]["attachments"] = list(body["attachments"])


def int_query(query: dict[str, str], key: str, bounds: tuple[int, int, int]) -> int:
    """``?limit``/``?timeout``, refused like MAX: "Field 'timeout' value (1500) must be at most 90"."""
    low, high, default = bounds
    raw = query.get(key, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise proto(f"Field '{key}' value ({raw}) is not a number") from None
    if value > high:
        raise proto(f"Field '{key}' value ({value}) must be at most {high}")
    if value < low:
        raise proto(f"Field '{key}' value ({value}) must be at least {low}")
    return value


def id_query(query: dict[str, str], key: str) -> int | None:
    raw = query.get(key)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise proto(f"Field '{key}' value ({raw}) is not a number") from None


def check_new_message(body: Any, *, edit: bool = False) -> JSON:
    """A NewMessageBody checked as MAX checks it; what the bot sent, with its keyboard taken apart."""
    if not isinstance(body, dict):
        raise proto("Can't deserialize body")
    text, fmt = body.get("text"), body.get("format")
    if text is not None and not isinstance(text, str):
        raise proto("Field 'text' must be a string")
    if text is not None and len(text) > TEXT_LIMIT:
        raise proto(f"Field 'text' size ({len(text)}) must be at most {TEXT_LIMIT}")
    if fmt is not None and fmt not in FORMATS:
        raise proto(f"Field 'format' value ({fmt}) must be one of {', '.join(FORMATS)}")
    attachments = check_attachments(body.get("attachments"))
    if not edit and not text and not attachments and not body.get("link"):
        raise proto("errors.required: text or attachments")
    keyboards = [a["payload"]["buttons"] for a in attachments if a["type"] == "inline_keyboard"]
    content: JSON = {"text": text, "format": fmt, "attachments": attachments, "link": body.get("link")}
    return content | {"keyboard": keyboards[-1] if keyboards else None, "notify": body.get("notify", True)}


def check_attachments(raw: Any) -> list[JSON]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise proto("Field 'attachments' must be an array of objects")
    for item in raw:
        if item.get("type") not in ATTACHMENT_TYPES:
            raise proto(f"Unknown attachment type: {item.get('type')}")
        if item["type"] == "inline_keyboard":
            check_keyboard(item.get("payload"))
    kinds = [item["type"] for item in raw if item["type"] != "inline_keyboard"]
    if "file" in kinds and len(kinds) > 1:
        raise proto("Must be only one file attachment in message")
    return list(raw)


def check_keyboard(payload: Any) -> None:
    """An inline keyboard within MAX's limits: 30 rows, 7 buttons a row (3 with link, open_app,
    request_geo_location or request_contact in it), 210 buttons in all."""
    rows = payload.get("buttons") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise proto("Field 'buttons' must be an array of arrays")
    if len(rows) > MAX_ROWS:
        raise proto(f"errors.maxRows: {len(rows)} rows, at most {MAX_ROWS}")
    for number, row in enumerate(rows, 1):
        wide = any(isinstance(b, dict) and b.get("type") in WIDE_BUTTONS for b in row)
        limit = MAX_WIDE_PER_ROW if wide else MAX_PER_ROW
        if len(row) > limit:
            raise proto(f"errors.maxButtonsInRow: row {number} has {len(row)} buttons, at most {limit}")
        for button in row:
            check_button(button)
    if (total := sum(len(row) for row in rows)) > MAX_BUTTONS:
        raise proto(f"errors.maxButtons: {total} buttons, at most {MAX_BUTTONS}")


def check_button(button: Any) -> None:
    if not isinstance(button, dict) or button.get("type") not in BUTTON_TYPES:
        raise proto(f"Unknown button type: {button.get('type') if isinstance(button, dict) else button}")
    text = button.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= BUTTON_TEXT_MAX:
        raise proto(f"Field 'text' of a button must be 1..{BUTTON_TEXT_MAX} characters")
    payload = button.get("payload")
    if button["type"] == "callback" and (not isinstance(payload, str) or len(payload) > BUTTON_PAYLOAD_MAX):
        raise proto(f"Field 'payload' of a callback button must be a string of at most {BUTTON_PAYLOAD_MAX}")
    url = str(button.get("url", ""))
    if button["type"] == "link" and not 1 <= len(url) <= BUTTON_URL_MAX:
        raise proto(f"Field 'url' of a link button must be 1..{BUTTON_URL_MAX} characters")
    if button["type"] == "link" and not url.startswith(("http://", "https://")):
        raise proto("Must have only http/https links format in buttons")


def wanted(update: JSON, types: Any) -> bool:
    """Whether an update is of the ``types`` asked for (none asked: all are)."""
    return not types or update.get("update_type") in types


def check_tokens(uploads: dict[str, Upload], attachments: list[JSON]) -> None:
    """Upload tokens must be known and of the attachment's kind; a fresh upload is not ready at first."""
    for kind, token in tokens_of(attachments):
        uploaded = uploads.get(token)
        if uploaded is None or uploaded.kind != kind:
            raise proto(f"Invalid {'photo' if kind == 'image' else kind} token provided: {token}")
        if uploaded.not_ready > 0:
            uploaded.not_ready -= 1
            raise MaxError(400, "attachment.not.ready", NOT_READY)


def tokens_of(attachments: list[JSON]) -> list[tuple[str, str]]:
    """(kind, upload token) of each media attachment a message refers to by token."""
    found: list[tuple[str, str]] = []
    for item in attachments:
        payload = item.get("payload")
        if item["type"] not in UPLOAD_TYPES or not isinstance(payload, dict):
            continue
        if isinstance(payload.get("token"), str):
            found.append((item["type"], payload["token"]))
        photos = payload.get("photos")
        if item["type"] == "image" and isinstance(photos, dict):
            found += [("image", str(p.get("token"))) for p in photos.values() if isinstance(p, dict)]
    return found


async def post_update(
    session: aiohttp.ClientSession, url: str, body: JSON, secret: str | None, timeout: float
) -> tuple[int, str]:
    """POST one Update to a webhook as MAX does; (0, reason) when it could not be reached."""
    headers = {"Content-Type": "application/json"} | ({SECRET_HEADER: secret} if secret else {})
    try:
        async with session.post(
            url, data=dumps(body).encode(), headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            return response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError) as error:
        return 0, repr(error)
