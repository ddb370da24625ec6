"""A fake Telegram Bot API server on 127.0.0.1 speaking the real wire protocol, for end-to-end tests.

Point aiogram at it with ``AiohttpSession(api=TelegramAPIServer.from_base(fake.url))``. Requests land in
``calls``; ``push_update`` feeds long-polling ``getUpdates``; ``fail_next``, ``hang_next`` and
``block_chat`` inject faults. The Bot API method ``fooBar`` is served by the ``_api_fooBar`` coroutine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer
from tests.fakes.telegram_wire import (
    BLOCKED,
    JSON,
    MAX_POLL_SECONDS,
    NOT_MODIFIED,
    OPT_IN_UPDATES,
    POLL_CONFLICT,
    RECORDINGS,
    SEND_PREFIXES,
    WEBHOOK_CONFLICT,
    ApiError,
    Call,
    administrator,
    bot_id_of,
    brief,
    caption_of,
    chat_id_of,
    fault,
    file_object,
    photo_size,
    read_params,
    required,
    set_markup,
    user_object,
)

__all__ = ["ApiError", "Call", "FakeTelegram"]

logger = logging.getLogger(__name__)

Handler = Callable[[Call], Awaitable[Any]]


BY_URL = {"document": (".gif", ".pdf", ".zip"), "voice": (".ogg",)}  # what Telegram takes by URL as such


class FakeTelegram(FakeServer[Call]):
    """An in-process Bot API server on 127.0.0.1; use as ``async with FakeTelegram() as fake``."""

    name = "fake Telegram"

    def __init__(self, token: str = "123:ABC", *, username: str = "okno_test_bot") -> None:
        super().__init__()
        self.token = token
        self.bot_user: JSON = {"id": bot_id_of(token), "is_bot": True, "first_name": "Okno"}
        self.bot_user["username"] = username
        self.bot_member: JSON = administrator(self.bot_user)
        self.allowed_updates_seen: list[list[str]] = []
        self.webhook: JSON = {"url": "", "secret_token": None, "allowed_updates": None}
        self.messages: dict[tuple[str, int], JSON] = {}  # (chat_id, message_id) -> the bot's message
        self.topics: dict[int, JSON] = {}  # message_thread_id -> ForumTopic (+ "is_closed")
        self.members: dict[int, str] = {}  # user id -> chat member status other than "member"
        self._queue: list[JSON] = []
        self._allowed: list[str] = []
        self._chats: dict[str, JSON] = {}
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self._blocked: set[str] = set()
        self._faults: dict[str, list[ApiError]] = {}
        self._hangs: dict[str, list[float]] = {}
        self._group_limit = 0  # calls a minute into one group; 0: none
        self._group_calls: dict[str, list[float]] = {}  # group → when its counted calls came
        self.too_many = 0  # calls refused by the group limit
        self._update_ids, self._message_ids = itertools.count(1000), itertools.count(1)
        self._seq = itertools.count(1)
        self._new_update = asyncio.Event()
        self._polls: list[asyncio.Event] = []  # the getUpdates under way: each set when ended by another
        self.poll_conflicts = 0  # getUpdates ended by a newer one (two pollers of one bot)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

    def release(self) -> None:
        self._new_update.set()

    def describe(self, call: Call) -> str:
        return f"{call.method} -> {call.status} {brief(call.params)}"

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts of the sendMessage calls that succeeded, optionally only those to ``chat_id``."""
        return [
            str(call.params.get("text"))
            for call in self.calls_of("sendMessage")
            if call.status == HTTPStatus.OK and chat_id in (None, call.params.get("chat_id"))
        ]

    def add_file(self, file_id: str, content: bytes, file_path: str | None = None) -> None:
        self._files[file_id] = (file_path or f"photos/{file_id}.jpg", content)

    def fail_next(
        self, method: str, status: int = 429, retry_after: int = 1, count: int = 1, *, description: str = ""
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error worded like the real API's."""
        error = fault(status, retry_after, description)
        self._faults.setdefault(self._name(method), []).extend([error] * count)

    def fail_next_with_html(self, method: str, status: int = 502, count: int = 1) -> None:
        """Answer the next ``count`` calls with an HTML error page, as Telegram's front end does."""
        page = f"<html><head><title>{status} Bad Gateway</title></head><body>nginx</body></html>"
        self._faults.setdefault(self._name(method), []).extend([ApiError(status, page)] * count)

    def hang_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Delay the answer to the next ``count`` calls of ``method``."""
        self._hangs.setdefault(self._name(method), []).extend([seconds] * count)

    def limit_groups(self, per_minute: int = 20) -> None:
        """Telegram's limit in groups: more than ``per_minute`` messages, edits and topic changes in
        any 60 seconds get 429 with ``retry_after`` (Bot FAQ; edits share it, tdlib/td#2592)."""
        self._group_limit = per_minute

    def _over_group_limit(self, call: Call) -> ApiError | None:
        chat = str(call.params.get("chat_id", ""))
        counted = call.method.startswith(SEND_PREFIXES) or call.method.endswith("ForumTopic")
        if not self._group_limit or not counted or not chat.startswith("-"):
            return None
        now = time.monotonic()
        recent = [t for t in self._group_calls.get(chat, []) if t > now - 60]
        self._group_calls[chat] = recent
        if len(recent) < self._group_limit:
            recent.append(now)
            return None
        self.too_many += 1
        return fault(HTTPStatus.TOO_MANY_REQUESTS, max(1, int(recent[0] + 60 - now) + 1), "")

    def block_chat(self, chat_id: int) -> None:
        self._blocked.add(str(chat_id))

    def set_bot_member(self, status: str = "administrator", **rights: bool) -> None:
        """How getChatMember/getChatAdministrators describe the bot, e.g. ``can_manage_topics=False``."""
        member = {"status": status, "user": self.bot_user}
        self.bot_member = administrator(self.bot_user, **rights) if status == "administrator" else member

    def push_update(self, update: JSON) -> int:
        """Queue ``update`` for getUpdates under the next update_id (set in place and returned)."""
        update["update_id"] = next(self._update_ids)
        self._queue.append(update)
        self._new_update.set()
        return int(update["update_id"])

    def message_update(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        *,
        chat_type: str = "private",
        first_name: str = "Иван",
        message_id: int | None = None,
    ) -> JSON:
        sender = self._sender(chat_id, user_id, chat_type, first_name)
        return self._push({"message": self._message(message_id, chat_id, sender, text=text)})

    def add_group(self, chat_id: int, *, forum: bool = True) -> None:
        """A supergroup the bot is in, with topics turned on unless ``forum=False``."""
        self._chats[str(chat_id)] = {
            "id": chat_id,
            "type": "supergroup",
            "title": "Операторы",
            "is_forum": forum,
        }

    def topic_update(
        self, chat_id: int, thread_id: int, user_id: int, name: str = "Анна", text: str = "", **content: Any
    ) -> JSON:
        """A member writes in a forum topic of a group added with ``add_group``."""
        message = self._message(None, chat_id, user_object(user_id, name), **content)
        message |= {"message_thread_id": thread_id, "is_topic_message": True}
        return self._push({"message": message | ({"text": text} if text else {})})

    def callback_update(
        self, chat_id: int, data: str, user_id: int | None = None, message_id: int = 1
    ) -> JSON:
        message = self.messages.get((str(chat_id), message_id))
        message = message or self._message(message_id, chat_id, self.bot_user, text="…")
        user = user_object(
            user_id or chat_id, "Иван" if user_id is None or user_id == chat_id else f"Оператор {user_id}"
        )
        query = {"id": str(next(self._seq)), "from": user, "chat_instance": f"ci{chat_id}", "data": data}
        return self._push({"callback_query": query | {"message": message}})

    def sticker_update(self, chat_id: int, user_id: int | None = None) -> JSON:
        sticker = file_object(f"sticker-{next(self._seq)}", 20_000, type="regular", width=512, height=512)
        sticker |= {"is_animated": False, "is_video": False, "emoji": "👍"}
        return self._push(
            {"message": self._message(None, chat_id, self._sender(chat_id, user_id), sticker=sticker)}
        )

    def photo_update(self, chat_id: int, file_id: str, file_size: int, user_id: int | None = None) -> JSON:
        photo = [photo_size(f"{file_id}-thumb", max(1, file_size // 20), 90), photo_size(file_id, file_size)]
        return self._push(
            {"message": self._message(None, chat_id, self._sender(chat_id, user_id), photo=photo)}
        )

    def document_update(self, chat_id: int, file_id: str, size: int, name: str, mime_type: str) -> JSON:
        document = file_object(file_id, size, file_name=name, mime_type=mime_type)
        return self._push(
            {"message": self._message(None, chat_id, self._sender(chat_id, None), document=document)}
        )

    def voice_update(
        self, chat_id: int, file_id: str, content: bytes, duration: int = 3, *, kind: str = "voice"
    ) -> JSON:
        """A voice note the user recorded (or an ``audio`` file, a ``video_note``); getFile serves it."""
        self.add_file(file_id, content, f"{kind}/{file_id}")
        media = file_object(file_id, len(content), duration=duration) | RECORDINGS[kind][1]
        sender = self._sender(chat_id, None)
        return self._push({"message": self._message(None, chat_id, sender, **{kind: media})})

    def _push(self, update: JSON) -> JSON:
        self.push_update(update)
        return update

    def _sender(
        self, chat_id: int, user_id: int | None, chat_type: str = "private", name: str = "Иван"
    ) -> JSON:
        """The user writing into ``chat_id``; the chat is remembered for the messages that follow."""
        chat: JSON = {"id": chat_id, "type": chat_type}
        chat |= {"first_name": name} if chat_type == "private" else {"title": "Okno test chat"}
        self._chats[str(chat_id)] = chat
        return user_object(user_id or (chat_id if chat_type == "private" else 4242), name)

    def _message(self, message_id: int | None, chat_id: int, sender: JSON, **content: Any) -> JSON:
        default = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        chat = self._chats.get(str(chat_id), default)
        message_id = message_id or next(self._message_ids)
        return {"message_id": message_id, "from": sender, "chat": chat, "date": int(time.time()), **content}

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        params, files = await read_params(request)
        call = Call(self._name(request.match_info["method"]), params, files=files)
        self.calls.append(call)
        logger.debug("%s %s", call.method, params)
        response = await self._answer(call)
        call.status = response.status
        return response

    async def _answer(self, call: Call) -> web.Response:
        handler: Handler | None = getattr(self, f"_api_{call.method}", None)
        if handler is None:
            return ApiError(404, "Not Found").response()
        if hangs := self._hangs.get(call.method):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), hangs.pop(0))
        if faults := self._faults.get(call.method):
            return faults.pop(0).response()
        if limited := self._over_group_limit(call):
            return limited.response()
        if call.method.startswith(SEND_PREFIXES) and str(call.params.get("chat_id")) in self._blocked:
            return ApiError(403, BLOCKED).response()
        try:
            result = await handler(call)
        except ApiError as error:
            return error.response()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        for path, content in self._files.values():
            if path == request.match_info["path"]:
                return web.Response(body=content, content_type="application/octet-stream")
        return ApiError(404, "Not Found").response()

    async def _api_getMe(self, call: Call) -> JSON:
        return self.bot_user

    async def _api_answerCallbackQuery(self, call: Call) -> bool:
        return True

    _api_sendChatAction = _api_answerCallbackQuery

    async def _api_getUpdates(self, call: Call) -> list[JSON]:
        params = call.params
        if self.webhook["url"]:
            raise ApiError(409, WEBHOOK_CONFLICT)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed = list(params["allowed_updates"])
            self.allowed_updates_seen.append(self._allowed)
        offset = int(params.get("offset", 0))  # confirms (drops) every update below it; < 0 keeps the last N
        self._queue = (
            self._queue[offset:] if offset < 0 else [u for u in self._queue if u["update_id"] >= offset]
        )
        for earlier in self._polls:  # as Telegram does, a newer poll ends the one under way with 409
            earlier.set()
        ended = asyncio.Event()
        self._polls.append(ended)
        self._new_update.set()
        try:
            deadline = time.monotonic() + min(float(params.get("timeout", 0)), MAX_POLL_SECONDS)
            while not (ready := [u for u in self._queue if self._wanted(u)]) and not self._closed.is_set():
                if ended.is_set():
                    self.poll_conflicts += 1
                    raise ApiError(409, POLL_CONFLICT)
                if (remaining := deadline - time.monotonic()) <= 0:
                    break
                self._new_update.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), remaining)
        finally:
            self._polls.remove(ended)
        return ready[: max(1, min(int(params.get("limit", 100)), 100))]

    def pending(self) -> list[JSON]:
        """Updates waiting for delivery, oldest first (what a webhook would be sent next)."""
        return [u for u in self._queue if self._wanted(u)]

    def delivered(self, update_id: int) -> None:
        """A webhook answered 200 for the update: Telegram forgets it."""
        self._queue = [u for u in self._queue if u["update_id"] != update_id]

    async def next_update(self, timeout: float) -> None:
        """Wait until an update is queued, or `timeout` seconds."""
        self._new_update.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._new_update.wait(), timeout)

    def _wanted(self, update: JSON) -> bool:
        kinds = set(update) - {"update_id"}
        return bool(kinds & set(self._allowed)) if self._allowed else not kinds & OPT_IN_UPDATES

    async def _api_sendMessage(self, call: Call) -> JSON:
        return self._new_message(call.params, text=required(call.params, "text"))

    async def _api_sendPhoto(self, call: Call) -> JSON:
        photo = photo_size(*self._file_param(call, "photo"))
        return self._new_message(call.params, photo=[photo], **caption_of(call.params))

    async def _api_sendDocument(self, call: Call) -> JSON:
        file_id, size = self._file_param(call, "document")
        document = file_object(file_id, size, file_name=file_id)
        return self._new_message(call.params, document=document, **caption_of(call.params))

    async def _api_sendVoice(self, call: Call) -> JSON:
        """Also serves sendAudio and sendVideoNote: the recording is kept under its kind."""
        kind = next(kind for kind, (method, _) in RECORDINGS.items() if method == call.method)
        file_id, size = self._file_param(call, kind)
        media = file_object(file_id, size, duration=call.params.get("duration", 1)) | RECORDINGS[kind][1]
        caption = caption_of(call.params) if kind != "video_note" else {}  # a round video has none
        return self._new_message(call.params, **{kind: media}, **caption)

    _api_sendAudio = _api_sendVideoNote = _api_sendVoice

    def _file_param(self, call: Call, key: str) -> tuple[str, int]:
        """An upload is registered (so getFile and downloads serve it); a file_id is taken as is."""
        if key in call.files:
            new_id = f"{key}-{next(self._seq)}"
            self.add_file(new_id, call.files[key], file_path=f"{key}s/{new_id}")
            return new_id, len(call.files[key])
        if not isinstance(file_id := call.params.get(key), str) or not file_id:
            raise ApiError(400, f"Bad Request: there is no {key} in the request")
        if file_id.startswith(("http://", "https://")) and not file_id.lower().endswith(
            BY_URL.get(key, ("",))
        ):
            # Telegram fetches a document by URL only as GIF, PDF or ZIP, a voice message only as OGG
            raise ApiError(400, "Bad Request: wrong type of the web page content")
        return file_id, len(self._files.get(file_id, ("", b""))[1])

    def _new_message(self, params: JSON, **content: Any) -> JSON:
        chat_id = chat_id_of(params)
        message = self._message(None, chat_id, self.bot_user, **content)
        if thread := params.get("message_thread_id"):
            if thread not in self.topics:
                raise ApiError(400, "Bad Request: message thread not found")
            if self.topics[thread].get("is_closed"):
                raise ApiError(400, "Bad Request: TOPIC_CLOSED")
            message |= {"message_thread_id": thread, "is_topic_message": True}
        set_markup(message, params)
        self.messages[(str(chat_id), message["message_id"])] = message
        return message

    async def _api_editMessageText(self, call: Call) -> JSON | bool:
        return self._edit(call.params, text=required(call.params, "text"))

    async def _api_editMessageReplyMarkup(self, call: Call) -> JSON | bool:
        return self._edit(call.params)

    def _edit(self, params: JSON, **content: Any) -> JSON | bool:
        if "inline_message_id" in params:
            return True
        key = (str(chat_id_of(params)), int(params.get("message_id", 0)))
        if (old := self.messages.get(key)) is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        new = {**old, **content}
        set_markup(new, params)
        if new == old:
            raise ApiError(400, NOT_MODIFIED)
        self.messages[key] = new | {"edit_date": int(time.time())}
        return self.messages[key]

    async def _api_setWebhook(self, call: Call) -> bool:
        self.webhook = {key: call.params.get(key) for key in ("url", "secret_token", "allowed_updates")}
        self.webhook["url"] = self.webhook["url"] or ""
        return True

    async def _api_deleteWebhook(self, call: Call) -> bool:
        self.webhook = {"url": "", "secret_token": None, "allowed_updates": None}
        if call.params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _api_getWebhookInfo(self, call: Call) -> JSON:
        info = {"url": self.webhook["url"], "has_custom_certificate": False}
        info["pending_update_count"] = len(self._queue)
        if self.webhook["allowed_updates"] is not None:
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _api_getFile(self, call: Call) -> JSON:
        file_id = call.params.get("file_id")
        if not isinstance(file_id, str) or file_id not in self._files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, content = self._files[file_id]
        return file_object(file_id, len(content), file_path=path)

    async def _api_createForumTopic(self, call: Call) -> JSON:
        chat_id_of(call.params)
        topic = {"message_thread_id": next(self._seq) + 100, "name": required(call.params, "name")}
        topic["icon_color"] = call.params.get("icon_color", 7322096)
        if emoji := call.params.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = emoji
        self.topics[topic["message_thread_id"]] = topic
        return dict(topic)

    async def _api_editForumTopic(self, call: Call) -> bool:
        """Also serves close/reopen/deleteForumTopic: all answer true for a known topic."""
        thread = call.params.get("message_thread_id", 0)
        if (topic := self.topics.get(thread)) is None:
            raise ApiError(400, "Bad Request: TOPIC_ID_INVALID")
        if call.method == "deleteForumTopic":
            del self.topics[thread]
            for key in [k for k, m in self.messages.items() if m.get("message_thread_id") == thread]:
                del self.messages[key]
        elif call.method == "editForumTopic":
            topic |= {key: call.params[key] for key in ("name", "icon_custom_emoji_id") if key in call.params}
        else:
            topic["is_closed"] = call.method == "closeForumTopic"
        return True

    _api_closeForumTopic = _api_reopenForumTopic = _api_deleteForumTopic = _api_editForumTopic

    async def _api_getChatMember(self, call: Call) -> JSON:
        if not isinstance(user_id := call.params.get("user_id"), int):
            raise ApiError(400, "Bad Request: invalid user_id specified")
        if user_id == self.bot_user["id"]:
            return self.bot_member
        return {"status": self.members.get(user_id, "member"), "user": user_object(user_id, "Иван")}

    async def _api_getChat(self, call: Call) -> JSON:
        chat = self._chats.get(str(chat_id := chat_id_of(call.params)))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        kinds = (
            "unlimited_gifts",
            "limited_gifts",
            "unique_gifts",
            "premium_subscription",
            "gifts_from_channels",
        )
        gifts = dict.fromkeys(kinds, True)
        return {
            "id": chat_id,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        } | chat

    async def _api_getChatAdministrators(self, call: Call) -> list[JSON]:
        chat_id_of(call.params)
        return [self.bot_member] if self.bot_member["status"] == "administrator" else []
