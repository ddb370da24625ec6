"""The VK API's wire format for the fake server: parameters in, errors and objects out.

Every parameter arrives as a string (a form field or a query argument), as it does at VK; the helpers
here read ints and JSON out of them and raise `VkError`, which renders VK's
``{"error": {"error_code", "error_msg", "request_params"}}`` answer.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
EVENT_VERSION = "5.199"  # the API version the fake's Bots Long Poll / Callback events are shaped for
MAX_POLL_SECONDS = 5.0
CHAT_PEER_BASE = 2_000_000_000
EXECUTE_MAX_CALLS = 25
BUTTON_ACTIONS = ["text", "vkpay", "open_app", "location", "open_link", "callback", "intent_subscribe"]
BUTTON_ACTIONS += ["intent_unsubscribe"]
ERRORS = {
    3: "Unknown method passed",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    8: "Invalid request: v is required",
    9: "Flood control",
    10: "Internal server error",
    12: "Unable to compile code",
    13: "Runtime error occurred during code invocation",
    15: "Access denied",
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
    901: "Can't send messages for users without permission",
    911: "Keyboard format is invalid",
    914: "Message is too long",
}
ATTACHMENT = re.compile(
    r"^(photo|video|audio|doc|wall|market|poll|audio_message|story)-?\d+_\d+(_[0-9a-z]+)?$"
)
# Keyboard limits from dev.vk.com: rows x buttons per row, total buttons.
KEYBOARD_LIMITS = {False: (10, 5, 40), True: (6, 5, 10)}
LABEL_MAX, PAYLOAD_MAX = 40, 255
PHOTO_SIZES = (("s", 75), ("m", 130), ("x", 604), ("y", 807), ("z", 1080))


class VkError(Exception):
    """A VK API error; ``body`` renders it the way VK answers (always with HTTP 200)."""

    def __init__(self, code: int, msg: str | None = None) -> None:
        self.code, self.msg = code, msg or ERRORS.get(code, "Unknown error occurred")
        super().__init__(f"[{self.code}] {self.msg}")

    def body(self, method: str, params: dict[str, str]) -> JSON:
        shown = [("oauth", "1"), ("method", method)]
        shown += [(key, value) for key, value in params.items() if key != "access_token"]
        request_params = [{"key": key, "value": value} for key, value in shown]
        return {"error": {"error_code": self.code, "error_msg": self.msg, "request_params": request_params}}

    def execute_item(self, method: str) -> JSON:
        return {"method": method, "error_code": self.code, "error_msg": self.msg}


def invalid(what: str) -> VkError:
    return VkError(100, f"{ERRORS[100]}: {what}")


@dataclass
class Call:
    """One request: ``error`` is the VK error code answered (0: a response); ``via`` is "execute" for
    the calls made inside an ``execute``."""

    method: str
    params: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    error: int = 0
    via: str = ""
    execute_errors: list[JSON] = field(default_factory=list)


async def read_params(request: web.Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Query arguments plus an urlencoded or multipart body; uploads as ``{field: (filename, bytes)}``."""
    params = dict(request.query)
    files: dict[str, tuple[str, bytes]] = {}
    if request.body_exists:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            else:
                params[key] = value if isinstance(value, str) else value.decode()
    return params, files


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def answer(body: JSON) -> web.Response:
    return web.json_response(body, dumps=dumps)


def version_of(value: str | None) -> tuple[int, int]:
    if not value:
        raise VkError(8)
    major, _, minor = value.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        raise VkError(8, f"Invalid request: version {value} is invalid") from None


def int_param(params: dict[str, str], key: str, default: int | None = None) -> int:
    value = params.get(key, "")
    if value == "":
        if default is None:
            raise invalid(f"{key} is undefined")
        return default
    try:
        return int(value)
    except ValueError:
        raise invalid(f"{key} not integer") from None


def ids_param(params: dict[str, str], key: str) -> list[int]:
    try:
        return [int(part) for part in params.get(key, "").split(",") if part.strip()]
    except ValueError:
        raise invalid(f"{key} is invalid") from None


def json_param(params: dict[str, str], key: str) -> Any:
    try:
        return json.loads(params[key])
    except ValueError:
        raise invalid(f"{key} is not a valid JSON") from None


def form_value(value: Any) -> str:
    """A VKScript argument as it would arrive as a form field."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else dumps(value)


def parse_execute(code: str) -> list[tuple[str, dict[str, str]]]:
    """``return [API.messages.send({...}), ...];`` → [("messages.send", params), ...]; nothing else."""
    decoder, rest = json.JSONDecoder(), code.strip()
    if not (rest.startswith("return") and rest.rstrip(";").rstrip().endswith("]")):
        raise VkError(12, f"{ERRORS[12]}: only `return [API.messages.send({{...}}), ...];` is supported")
    rest = rest.removeprefix("return").strip().rstrip(";").strip()[1:-1].strip()
    calls: list[tuple[str, dict[str, str]]] = []
    while rest:
        match = re.match(r"API\.([a-zA-Z]+\.[a-zA-Z]+)\(\s*", rest)
        if match is None:
            raise VkError(12, f"{ERRORS[12]}: expected API.<method>( at {rest[:30]!r}")
        try:
            args, end = decoder.raw_decode(rest, match.end())
        except ValueError:
            raise VkError(12, f"{ERRORS[12]}: the argument is not an object literal") from None
        tail = re.match(r"\s*\)\s*(,\s*)?", rest[end:])
        if tail is None or not isinstance(args, dict):
            raise VkError(12, f"{ERRORS[12]}: expected ) after the argument")
        calls.append((match.group(1), {key: form_value(value) for key, value in args.items()}))
        rest = rest[end + tail.end() :]
    return calls


def check_keyboard(raw: str) -> JSON:
    """The parsed ``keyboard`` of messages.send, or error 911 like VK's."""
    try:
        keyboard = json.loads(raw)
    except ValueError:
        raise VkError(911, f"{ERRORS[911]}: invalid JSON") from None
    rows = keyboard.get("buttons") if isinstance(keyboard, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise VkError(911, f"{ERRORS[911]}: buttons should be an array of arrays")
    max_rows, max_columns, max_buttons = KEYBOARD_LIMITS[bool(keyboard.get("inline"))]
    if len(rows) > max_rows or any(len(row) > max_columns for row in rows):
        raise VkError(911, f"{ERRORS[911]}: too many buttons (max {max_columns}x{max_rows})")
    if sum(len(row) for row in rows) > max_buttons:
        raise VkError(911, f"{ERRORS[911]}: more than {max_buttons} buttons")
    for button in (button for row in rows for button in row):
        action = button.get("action") if isinstance(button, dict) else None
        if not isinstance(action, dict) or not isinstance(action.get("type"), str):
            raise VkError(911, f"{ERRORS[911]}: button.action.type is required")
        if len(str(action.get("label", ""))) > LABEL_MAX:
            raise VkError(911, f"{ERRORS[911]}: label should be not more than {LABEL_MAX} symbols")
        if len(str(action.get("payload", ""))) > PAYLOAD_MAX:
            raise VkError(911, f"{ERRORS[911]}: payload should be not more than {PAYLOAD_MAX} symbols")
    return dict(keyboard)


def check_attachment(raw: str) -> list[str]:
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if any(ATTACHMENT.match(item) is None for item in items):
        raise invalid("attachment is invalid")
    return items


def photo_object(photo_id: int, owner_id: int, base_url: str, width: int = 1280) -> JSON:
    """A photo as VK describes it; every size is a URL served by the fake under /files/."""
    name = f"photo{owner_id}_{photo_id}"
    sizes = [
        {"type": kind, "width": min(side, width), "height": min(side, width) * 3 // 4}
        | {"url": f"{base_url}/files/{name}_{kind}.jpg"}
        for kind, side in PHOTO_SIZES
    ]
    photo: JSON = {"album_id": -64 if owner_id < 0 else -3, "date": int(time.time()), "id": photo_id}
    photo |= {"owner_id": owner_id, "access_key": secrets.token_hex(9), "sizes": sizes}
    orig = {"type": "base", "width": width, "height": width * 3 // 4, "url": f"{base_url}/files/{name}.jpg"}
    return photo | {"orig_photo": orig, "text": "", "has_tags": False}


def photo_file_names(photo: JSON) -> list[str]:
    urls = [size["url"] for size in photo["sizes"]] + [photo["orig_photo"]["url"]]
    return [url.rsplit("/files/", 1)[1] for url in urls]


def doc_object(doc_id: int, owner_id: int, base_url: str, title: str, size: int) -> JSON:
    ext = title.rsplit(".", 1)[1].lower() if "." in title else ""
    kind = {"txt": 1, "zip": 2, "gif": 3, "jpg": 4, "jpeg": 4, "png": 4, "mp3": 5, "mp4": 6}.get(ext, 8)
    url = f"{base_url}/files/doc{owner_id}_{doc_id}/{title}"
    doc: JSON = {"id": doc_id, "owner_id": owner_id, "title": title, "size": size, "ext": ext}
    return doc | {"date": int(time.time()), "type": kind, "url": url, "access_key": secrets.token_hex(9)}


def audio_message_object(message_id: int, owner_id: int, base_url: str, duration: int) -> JSON:
    """A voice message as VK describes it: its OGG (Opus) and MP3 links are served under /files/."""
    name = f"audio_msg{owner_id}_{message_id}"
    message: JSON = {"id": message_id, "owner_id": owner_id, "duration": duration}
    message |= {"waveform": [0, 4, 12, 31, 20, 8, 2, 0], "access_key": secrets.token_hex(9)}
    return message | {"link_ogg": f"{base_url}/files/{name}.ogg", "link_mp3": f"{base_url}/files/{name}.mp3"}


def event(kind: str, obj: JSON, group_id: int) -> JSON:
    """A Bots Long Poll / Callback API event."""
    return {"group_id": group_id, "type": kind, "event_id": secrets.token_hex(20), "v": EVENT_VERSION} | {
        "object": obj
    }


def default_client_info(**overrides: Any) -> JSON:
    info: JSON = {"button_actions": list(BUTTON_ACTIONS), "keyboard": True, "inline_keyboard": True}
    return info | {"carousel": False, "lang_id": 0} | overrides


def message_object(message_id: int, peer_id: int, from_id: int, text: str, cmid: int, **extra: Any) -> JSON:
    message: JSON = {"date": int(time.time()), "from_id": from_id, "id": message_id, "out": 0}
    message |= {"attachments": [], "conversation_message_id": cmid, "fwd_messages": [], "important": False}
    return message | {"is_hidden": False, "peer_id": peer_id, "random_id": 0, "text": text} | extra


def brief(params: dict[str, str]) -> str:
    return dumps({key: value for key, value in params.items() if key != "access_token"})[:200]


def group_object(group_id: int, name: str, screen_name: str) -> JSON:
    return {"id": group_id, "name": name, "screen_name": screen_name, "is_closed": 0, "type": "group"}


def user_object(user_id: int, first_name: str, last_name: str) -> JSON:
    user: JSON = {"id": user_id, "first_name": first_name, "last_name": last_name}
    return user | {"can_access_closed": True, "is_closed": False}


def message_event_object(peer_id: int, user_id: int, payload: JSON, cmid: int) -> JSON:
    """A callback button press (message_event): the payload arrives as an object, not a string."""
    obj: JSON = {"user_id": user_id, "peer_id": peer_id, "event_id": secrets.token_hex(6)}
    return obj | {"payload": payload, "conversation_message_id": cmid}


def upload_answer(kind: str, token: str | None) -> JSON:
    """What an upload server answers for a photo or a document (``token`` None: no file came)."""
    if kind == "photo":
        photos = [{"photo": token, "sizes": [], "kid": secrets.token_hex(4)}] if token else []
        return {"server": 1, "photo": dumps(photos), "hash": "h"}
    return {"file": token} if token else {"error": "no_file"}


async def post_callback(url: str, body: JSON, retry: int = 0) -> tuple[int, str]:
    """POST a Callback API event like VK: JSON, ``X-Retry-Counter`` on redeliveries."""
    headers = {"Content-Type": "application/json"} | ({"X-Retry-Counter": str(retry)} if retry else {})
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=dumps(body).encode(), headers=headers) as response,
    ):
        return response.status, await response.text()


def send_content(params: dict[str, str], limit: int) -> JSON:
    """What a messages.send call would post, checked as VK checks it."""
    random_id = int_param(params, "random_id", default=-1)
    if random_id < 0:
        raise invalid("random_id is a required parameter")
    text = params.get("message", "")
    if len(text) > limit:
        raise VkError(914)
    keyboard = check_keyboard(params["keyboard"]) if params.get("keyboard") else None
    attachment = params.get("attachment", "")
    check_attachment(attachment)
    if not text.strip() and not attachment:
        raise invalid("message is empty or invalid")
    return {"text": text, "keyboard": keyboard, "attachment": attachment, "random_id": random_id}


def peer_of(params: dict[str, str]) -> int:
    if "chat_id" in params:
        return CHAT_PEER_BASE + int_param(params, "chat_id")
    if "peer_id" in params or "user_id" in params:
        return int_param(params, "peer_id" if "peer_id" in params else "user_id")
    raise invalid("you should specify peer_id, user_id, domain, chat_id or user_ids param")


def batch_item(peer_id: int, message: JSON | None) -> JSON:
    """An item of messages.send's answer to ``peer_ids``; ``message`` None: the peer denied messages."""
    if message is None:
        return {"peer_id": peer_id, "error": {"code": 901, "description": ERRORS[901]}}
    item: JSON = {"peer_id": peer_id, "message_id": message["id"]}
    return item | {"conversation_message_id": message["conversation_message_id"]}


def uploaded_tokens(photo: str) -> list[str]:
    """The upload tokens inside the ``photo`` string an upload server answered."""
    try:
        return [str(item["photo"]) for item in json.loads(photo)]
    except (ValueError, TypeError, KeyError):
        return []
