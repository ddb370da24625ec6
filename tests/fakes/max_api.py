"""A fake MAX Bot API server on 127.0.0.1 speaking the real wire format, for end-to-end tests.

Point a client at ``fake.url`` instead of https://platform-api.max.ru. Every request needs the token in
``Authorization`` (the raw token, no "Bearer"). ``VERB /segment[/...]`` is served by
``_api_<verb>_<segment>``: ``GET /me``, ``GET /updates`` (long polling with MAX's markers),
``POST|GET|DELETE /subscriptions`` (new updates are then POSTed to the webhook instead), ``POST|PUT|DELETE
/messages``, ``GET /messages``, ``POST /answers``, ``POST /uploads`` (whose upload URL, ``/upload/<id>``,
and attachment files, ``/files/<name>``, are served here too) and ``GET /chats/<id>``. Citizens act
through ``user_message``, ``bot_started``, ``press`` & co.; ``fail_next``, ``hang_next`` and
``rate_limit`` inject faults. Every request lands in ``calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes import max_wire as wire
from tests.fakes.max_wire import JSON, Call, Delivery, Fault, MaxError, Upload, proto, update
from tests.fakes.server import FakeServer

__all__ = ["Call", "Delivery", "FakeMax", "MaxError", "Upload"]

logger = logging.getLogger(__name__)

Handler = Callable[[Call, web.Request], Awaitable[Any]]
CHAT_BASE = 182000000  # a dialog's chat id is this plus the user's id
OPEN_SEGMENTS = ("upload", "files")  # other hosts at MAX: no token, no rate limit, no JSON body
LOCALE = "ru"


class FakeMax(FakeServer[Call]):
    """An in-process MAX Bot API for one bot; use as ``async with FakeMax() as fake``."""

    name = "fake MAX"

    def __init__(
        self,
        token: str = "max-test-token",
        *,
        bot_user_id: int = 229000001,
        bot_name: str = "Окно",
        bot_username: str = "okno_test_bot",
        upload_ready_after: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.token, self.clock = token, clock
        self.bot = wire.bot_object(bot_user_id, bot_name, bot_username)
        self.upload_ready_after = upload_ready_after  # sends answered attachment.not.ready after an upload
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, int] = {}  # user id -> the dialog's chat id
        self.stopped: set[int] = set()  # users who stopped the bot
        self.messages: dict[str, JSON] = {}  # mid -> every message, the citizens' and the bot's
        self.sent: list[JSON] = []  # what the bot sent: mid, chat_id, user_id, text, format, keyboard, ...
        self.edits: list[JSON] = []
        self.deleted: list[str] = []
        self.answers: list[JSON] = []  # POST /answers: callback_id, user_id, message, notification
        self.uploads: list[Upload] = []
        self.subscriptions: dict[str, JSON] = {}  # url -> Subscription
        self.deliveries: list[Delivery] = []
        self.webhook_attempts, self.webhook_pause, self.webhook_timeout = 5, 0.05, 30.0
        self.refuse_polls_while_subscribed = True
        self.most_polling_at_once = 0
        self.too_many = 0  # 429s answered
        self.per_second: int | None = 30
        self._window: list[float] = []  # when the requests of the last second came
        self._secrets: dict[str, str | None] = {}
        self._outbox: dict[str, asyncio.Queue[JSON]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._updates: list[tuple[int, JSON]] = []  # (number, update) not yet acknowledged
        self._acked = 1  # every update numbered below this is acknowledged
        self._polls: dict[int, web.Request] = {}
        self._callbacks: dict[str, tuple[int, str]] = {}  # callback_id -> (user id, mid)
        self._expired: set[str] = set()
        self._slots: dict[str, tuple[str, str | None]] = {}  # upload id -> (type, token given with the URL)
        self._tokens: dict[str, Upload] = {}
        self._files: dict[str, bytes] = {}
        self._faults: list[Fault] = []
        self._hangs: list[Fault] = []
        self._ids = itertools.count(1)  # every id and number the fake makes up
        self._new_update = asyncio.Event()
        self.app.router.add_route("*", "/{path:.*}", self._handle)

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await super().__aexit__(*exc_info)

    def release(self) -> None:
        self._new_update.set()

    def canonical(self, handler_name: str) -> str:
        verb, _, segment = handler_name.partition("_")
        return f"{verb.upper()} /{segment}"  # _api_post_messages serves POST /messages

    def describe(self, call: Call) -> str:
        return f"{wire.brief(call)} -> {call.status} {call.code}"

    # Queries

    def sent_to(self, user_id: int) -> list[JSON]:
        return [sent for sent in self.sent if sent["user_id"] == user_id]

    def pending(self) -> list[JSON]:
        """Updates queued for long polling and not yet acknowledged."""
        return [queued for _, queued in self._updates]

    # Faults

    def fail_next(
        self,
        path_or_method: str,
        status: int = 500,
        times: int = 1,
        body: JSON | None = None,
        html: bool = False,
    ) -> None:
        """Answer the next ``times`` requests to ``"POST /messages"`` (or ``"/messages"``, any verb) with
        ``status`` and a MAX error body (``body`` overrides it), or with a proxy's HTML page."""
        verb, segment = wire.fault_target(path_or_method)
        self._faults += [Fault(verb, segment, status, body, html) for _ in range(times)]

    def hang_next(self, path_or_method: str, seconds: float, times: int = 1) -> None:
        verb, segment = wire.fault_target(path_or_method)
        self._hangs += [Fault(verb, segment, seconds=seconds) for _ in range(times)]

    def rate_limit(self, per_second: int | None = 30) -> None:
        """Answer 429 too.many.requests past ``per_second`` requests within a second (None: no limit)."""
        self.per_second = per_second
        self._window.clear()

    def expire_callbacks(self) -> None:
        """Every callback so far is too old to answer now."""
        self._expired |= set(self._callbacks)

    # Citizens

    def add_user(self, user_id: int, first_name: str = "Иван", last_name: str = "Петров") -> JSON:
        """A citizen with a dialog with the bot (a stable chat id of its own)."""
        if user_id not in self.users:
            self.users[user_id] = wire.user_object(user_id, first_name, last_name)
            self.chats[user_id] = CHAT_BASE + user_id
        return self.users[user_id]

    def user_message(
        self,
        user_id: int,
        text: str,
        *,
        attachments: Iterable[JSON] | None = None,
        first_name: str = "Иван",
    ) -> JSON:
        """The citizen writes to the bot: a message_created update; returns the Message."""
        user = self.add_user(user_id, first_name)
        recipient = wire.dialog_recipient(self.chats[user_id], self.bot["user_id"])
        message = wire.message_object(
            user, recipient, self._mid(), self._seq(), text, list(attachments or [])
        )
        self.messages[message["body"]["mid"]] = message
        self._push(update("message_created", message=message, user_locale=LOCALE))
        return message

    def bot_started(self, user_id: int, payload: str | None = None, *, first_name: str = "Иван") -> JSON:
        """The citizen presses Start (``payload``: a deep link's ``start=``)."""
        user = self.add_user(user_id, first_name)
        self.stopped.discard(user_id)
        extra = {"payload": payload} if payload is not None else {}
        fields = {"chat_id": self.chats[user_id], "user": user, "user_locale": LOCALE, "user_id": user_id}
        return self._push(update("bot_started", **fields, **extra))

    def bot_stopped(self, user_id: int) -> JSON:
        """The citizen stops the bot: sends to them answer 403 chat.denied from now on."""
        user = self.add_user(user_id)
        self.stopped.add(user_id)
        return self._push(update("bot_stopped", chat_id=self.chats[user_id], user=user, user_locale=LOCALE))

    def press(self, user_id: int, message: JSON | str, payload: str) -> str:
        """The citizen presses a callback button of ``message`` (a Message or its mid); the callback_id."""
        pressed = self._message(message)
        callback_id = f"f9LHodD0cO{next(self._ids):030d}"
        self._callbacks[callback_id] = (user_id, pressed["body"]["mid"])
        callback = {"timestamp": wire.now_ms(), "callback_id": callback_id, "user": self.add_user(user_id)}
        callback["payload"] = payload
        self._push(update("message_callback", callback=callback, message=pressed, user_locale=LOCALE))
        return callback_id

    def edit_message(self, message: JSON | str, text: str) -> JSON:
        """The citizen edits their message: message_edited; returns the edited Message."""
        edited = self._message(message)
        edited["body"]["text"] = text
        self._push(update("message_edited", message=edited))
        return edited

    def raw_update(self, raw: JSON) -> JSON:
        """Queue (or post) an update exactly as given: odd, partial or of an unknown type."""
        return self._push(raw)

    # Incoming attachments: their url is served at /files/, their token can be sent again by the bot

    def add_file(self, content: bytes, name: str) -> str:
        self._files[name] = content
        return f"{self.url}/files/{name}"

    def photo_attachment(self, content: bytes = wire.SAMPLE_JPEG) -> JSON:
        photo_id = next(self._ids)
        url, token = self._incoming("image", content, f"photo{photo_id}.jpg")
        return wire.image_object(photo_id, token, url)

    def file_attachment(self, content: bytes, filename: str = "document.pdf") -> JSON:
        url, token = self._incoming("file", content, f"{next(self._ids)}/{filename}")
        return wire.file_object(url, token, filename, len(content))

    def voice_attachment(self, content: bytes) -> JSON:
        return wire.audio_object(*self._incoming("audio", content, f"voice{next(self._ids)}.ogg"))

    def sticker_attachment(self, code: str = "a1b2c3") -> JSON:
        return wire.sticker_object(self.add_file(b"\x89PNG\r\n\x1a\nfake", f"sticker-{code}.png"), code)

    # Webhooks

    async def deliver(
        self, update: JSON, *, url: str | None = None, secret: str | None = None, attempt: int = 1
    ) -> Delivery:
        """POST one update to ``url`` (by default the subscription's, with its secret) as MAX does."""
        if url is None:
            assert self.subscriptions, "no subscription to deliver to: pass url="
            url = next(iter(self.subscriptions))
            secret = self._secrets.get(url) if secret is None else secret
        if self._session is None:
            self._session = aiohttp.ClientSession()
        status, text = await wire.post_update(self._session, url, update, secret, self.webhook_timeout)
        delivery = Delivery(url, update, secret, status, text, attempt)
        self.deliveries.append(delivery)
        logger.debug("webhook %s <- %s: %s", url, update.get("update_type"), status)
        return delivery

    async def _webhook_worker(self, url: str, queue: asyncio.Queue[JSON]) -> None:
        """Deliver in order; an update is tried again until the webhook answers 200 (MAX: for 8 hours)."""
        while True:
            posted = await queue.get()
            for attempt in range(1, self.webhook_attempts + 1):
                delivery = await self.deliver(posted, url=url, secret=self._secrets.get(url), attempt=attempt)
                if delivery.status == 200:
                    break
                await asyncio.sleep(self.webhook_pause)

    # Plumbing

    def _push(self, new: JSON) -> JSON:
        new = copy.deepcopy(new)
        for url, subscription in self.subscriptions.items():
            if wire.wanted(new, subscription["update_types"]):
                self._outbox[url].put_nowait(new)
        if not self.subscriptions:
            self._updates.append((next(self._ids), new))
            self._new_update.set()
        return new

    def _message(self, message: JSON | str) -> JSON:
        mid = message if isinstance(message, str) else message["body"]["mid"]
        return self.messages[mid]

    def _mid(self) -> str:
        return f"mid.{next(self._ids):032x}"

    def _seq(self) -> int:
        return 116000000000000000 + next(self._ids)

    def _token(self) -> str:
        return f"fake-token-{next(self._ids):08d}"

    def _incoming(self, kind: str, content: bytes, name: str) -> tuple[str, str]:
        token = self._token()
        self._tokens[token] = Upload(kind, name.rsplit("/", 1)[-1], content, token)
        return self.add_file(content, name), token

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        segment = request.path.strip("/").split("/")[0]
        call = Call(f"{request.method} /{segment}", request.path, dict(request.query))
        self.calls.append(call)
        try:
            response = await self._serve(request, call, segment)
        except MaxError as error:
            call.status, call.code = error.status, error.code
            logger.debug("%s -> %s", wire.brief(call), error)
            return wire.answer(error.body(), error.status)
        call.status = response.status
        return response

    async def _serve(self, request: web.Request, call: Call, segment: str) -> web.StreamResponse:
        if (hang := wire.take_fault(self._hangs, request.method, segment)) is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), hang.seconds)
        if (fault := wire.take_fault(self._faults, request.method, segment)) is not None:
            if fault.html:
                return web.Response(
                    status=fault.status, text=wire.html_page(fault.status), content_type="text/html"
                )
            raise wire.fault_error(fault.status, fault.body)
        handler: Handler | None = getattr(self, f"_api_{request.method.lower()}_{segment}", None)
        if segment not in OPEN_SEGMENTS:
            if request.headers.get("Authorization") != self.token:
                raise MaxError(401, "verify.token", "Invalid access_token")
            self._count_rate()
            call.body = await wire.read_json(request)
        if handler is None:
            known = any(name.endswith(f"_{segment}") for name in dir(self) if name.startswith("_api_"))
            raise wire.fault_error(405 if known else 404)
        result = await handler(call, request)
        return result if isinstance(result, web.StreamResponse) else wire.answer(result)

    def _count_rate(self) -> None:
        now = self.clock()
        self._window = [at for at in self._window if now - at < 1.0]
        if self.per_second and len(self._window) >= self.per_second:
            self.too_many += 1
            raise MaxError(
                429, "too.many.requests", f"Too many requests. Limit is: {self.per_second} calls per second."
            )
        self._window.append(now)

    def _target(self, query: dict[str, str]) -> tuple[int, int]:
        """(chat id, user id) of POST /messages?user_id= or ?chat_id=."""
        user_id, chat_id = wire.id_query(query, "user_id"), wire.id_query(query, "chat_id")
        if chat_id is not None:
            if (user_id := chat_id - CHAT_BASE) not in self.users:
                raise MaxError(404, "chat.not.found", f"Chat {chat_id} not found")
        elif user_id is None:
            raise proto("Missing required parameter: user_id or chat_id")
        elif user_id not in self.chats:
            raise MaxError(404, "chat.not.found", f"Dialog with user {user_id} not found")
        if user_id in self.stopped:
            raise MaxError(403, "chat.denied", f"Key: error.dialog.suspended, args: [{user_id},].")
        return self.chats[user_id], user_id

    def _own_message(self, query: dict[str, str]) -> JSON:
        mid = query.get("message_id", "")
        if not mid:
            raise proto("Missing required parameter: message_id")
        if (message := self.messages.get(mid)) is None or message["sender"]["user_id"] != self.bot["user_id"]:
            raise proto(f"Invalid message_id: {mid}")
        return message

    async def _wait(self, start: int, types: set[str], timeout: int) -> list[tuple[int, JSON]]:
        deadline = time.monotonic() + timeout
        while True:
            ready = [(n, u) for n, u in self._updates if n >= start and wire.wanted(u, types)]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closed.is_set():
                return ready
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), remaining)

    # API methods

    async def _api_get_me(self, call: Call, request: web.Request) -> JSON:
        return wire.bot_info(self.bot, "Помогу с вопросами о госуслугах")

    async def _api_get_updates(self, call: Call, request: web.Request) -> JSON:
        """Long polling: the answer's marker is where to go on; passing it acknowledges what came before,
        and without one the unacknowledged updates come again."""
        if self.subscriptions and self.refuse_polls_while_subscribed:
            raise MaxError(
                405, "method.not.allowed", "Long polling is off while a webhook subscription is active"
            )
        limit = wire.int_query(call.query, "limit", wire.POLL_LIMIT)
        timeout = wire.int_query(call.query, "timeout", wire.POLL_TIMEOUT)
        marker = wire.id_query(call.query, "marker")
        if marker is not None:
            self._acked = max(self._acked, marker)
            self._updates = [(n, u) for n, u in self._updates if n >= self._acked]
        types = {kind for kind in call.query.get("types", "").split(",") if kind}
        self._polls = {k: r for k, r in self._polls.items() if r.transport and not r.transport.is_closing()}
        self._polls[id(request)] = request
        self.most_polling_at_once = max(self.most_polling_at_once, len(self._polls))
        try:
            ready = (await self._wait(self._acked, types, timeout))[:limit]
        finally:
            self._polls.pop(id(request), None)
        return {"updates": [u for _, u in ready], "marker": ready[-1][0] + 1 if ready else self._acked}

    async def _api_get_subscriptions(self, call: Call, request: web.Request) -> JSON:
        return {"subscriptions": list(self.subscriptions.values())}

    async def _api_post_subscriptions(self, call: Call, request: web.Request) -> JSON:
        body = call.body if isinstance(call.body, dict) else {}
        url, secret = body.get("url"), body.get("secret")
        if not isinstance(url, str) or not url:
            raise proto("Missing required parameter: url")
        if secret is not None and not (isinstance(secret, str) and wire.SECRET.match(secret)):
            raise proto(f"secret does not match {wire.SECRET.pattern}")
        types = list(body.get("update_types") or [])
        self.subscriptions[url] = {"url": url, "time": wire.now_ms(), "update_types": types}
        self._secrets[url] = secret
        if url not in self._workers:
            self._outbox[url] = asyncio.Queue()
            self._workers[url] = asyncio.create_task(self._webhook_worker(url, self._outbox[url]))
        return {"success": True}

    async def _api_delete_subscriptions(self, call: Call, request: web.Request) -> JSON:
        if not (url := call.query.get("url", "")):
            raise proto("Missing required parameter: url")
        self.subscriptions.pop(url, None)
        if (worker := self._workers.pop(url, None)) is not None:
            worker.cancel()
        return {"success": True}

    async def _api_post_messages(self, call: Call, request: web.Request) -> JSON:
        content = wire.check_new_message(call.body)
        chat_id, user_id = self._target(call.query)
        wire.check_tokens(self._tokens, content["attachments"])
        recipient = wire.dialog_recipient(chat_id, user_id)
        message = wire.message_object(
            self.bot, recipient, self._mid(), self._seq(), content["text"] or "", content["attachments"]
        )
        self.messages[message["body"]["mid"]] = message
        self.sent.append({"mid": message["body"]["mid"], "chat_id": chat_id, "user_id": user_id} | content)
        return {"message": message}

    async def _api_put_messages(self, call: Call, request: web.Request) -> JSON:
        message = self._own_message(call.query)
        content = wire.check_new_message(call.body, edit=True)
        wire.check_tokens(self._tokens, content["attachments"])
        wire.apply_edit(message, call.body)
        self.edits.append({"mid": message["body"]["mid"]} | content)
        return {"success": True}

    async def _api_delete_messages(self, call: Call, request: web.Request) -> JSON:
        mid = self._own_message(call.query)["body"]["mid"]
        del self.messages[mid]
        self.deleted.append(mid)
        return {"success": True}

    async def _api_get_messages(self, call: Call, request: web.Request) -> JSON:
        if ids := [mid for mid in call.query.get("message_ids", "").split(",") if mid]:
            return {"messages": [self.messages[mid] for mid in ids if mid in self.messages]}
        raise proto("Missing required parameter: message_ids")  # ?chat_id= is not faked

    async def _api_post_answers(self, call: Call, request: web.Request) -> JSON:
        callback_id = call.query.get("callback_id", "")
        if callback_id not in self._callbacks or callback_id in self._expired:
            raise proto("callback_id: Callback identifier is invalid")
        body = call.body if isinstance(call.body, dict) else {}
        if body.get("message") is None and body.get("notification") is None:
            raise proto("Invalid request. `message` or `notification` required")
        user_id, mid = self._callbacks[callback_id]
        if body.get("message") is not None:
            wire.check_tokens(self._tokens, wire.check_new_message(body["message"], edit=True)["attachments"])
            if mid in self.messages:
                wire.apply_edit(self.messages[mid], body["message"])
        record = {"callback_id": callback_id, "user_id": user_id, "mid": mid, "message": body.get("message")}
        self.answers.append(record | {"notification": body.get("notification")})
        return {"success": True}

    async def _api_post_uploads(self, call: Call, request: web.Request) -> JSON:
        if not (kind := call.query.get("type", "")):
            raise proto("Missing required parameter: type")
        if kind not in wire.UPLOAD_TYPES:  # "photo" included: replaced by "image"
            raise proto(f"Field 'type' value ({kind}) must be one of {', '.join(wire.UPLOAD_TYPES)}")
        upload_id, token = str(next(self._ids)), self._token() if kind in ("video", "audio") else None
        self._slots[upload_id] = (kind, token)
        return {"url": f"{self.url}/upload/{upload_id}"} | ({"token": token} if token else {})

    async def _api_post_upload(self, call: Call, request: web.Request) -> web.StreamResponse:
        """The upload host: one file per upload URL, multipart (field ``data``) or a raw body."""
        if (slot := self._slots.pop(call.path.rsplit("/", 1)[-1], None)) is None:
            raise MaxError(404, "not.found", "Upload URL is unknown or already used")
        filename, content = await wire.read_upload(request)
        kind, token = slot
        uploaded = Upload(kind, filename, content, token or self._token(), self.upload_ready_after)
        self.uploads.append(uploaded)
        self._tokens[uploaded.token] = uploaded
        return wire.upload_answer(kind, uploaded.token, next(self._ids))

    async def _api_get_files(self, call: Call, request: web.Request) -> web.StreamResponse:
        if (content := self._files.get(call.path.removeprefix("/files/"))) is None:
            raise MaxError(404, "not.found", "File not found")
        return web.Response(body=content, content_type="application/octet-stream")

    async def _api_get_chats(self, call: Call, request: web.Request) -> JSON:
        """A dialog by its id (the list, GET /chats, is gone from MAX since June 2026: 404)."""
        chat_id = call.path.strip("/").partition("/")[2]
        if (user_id := int(chat_id) - CHAT_BASE if chat_id.isdigit() else 0) not in self.users:
            raise MaxError(404, "chat.not.found", f"Chat {chat_id} not found")
        return wire.chat_object(self.chats[user_id], self.users[user_id])
