"""A fake VK API server on 127.0.0.1 speaking the real wire format, for end-to-end tests.

Point a client at it with ``adapters.vk.client.make_session(fake.url)``, which rewrites ``https://api.vk.ru/``.
``POST/GET /method/<name>`` answers ``{"response": ...}`` or VK's ``{"error": {...}}``, always with HTTP 200;
the method ``messages.send`` is served by ``_api_messages_send``. The Bots Long Poll server is at
``/longpoll/<group id>``; ``message_new``, ``message_event`` & co. push events onto it, and
``deliver_callback`` posts them to a Callback API webhook instead. ``fail_next``, ``hang_next``,
``fail_longpoll``, ``deny_messages`` and ``set_message_limit`` inject faults. Every request lands in
``calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer
from tests.fakes.vk_wire import (
    CHAT_PEER_BASE,
    EXECUTE_MAX_CALLS,
    JSON,
    MAX_POLL_SECONDS,
    Call,
    VkError,
    answer,
    audio_message_object,
    batch_item,
    brief,
    default_client_info,
    doc_object,
    dumps,
    event,
    group_object,
    ids_param,
    int_param,
    invalid,
    json_param,
    message_event_object,
    message_object,
    parse_execute,
    peer_of,
    photo_file_names,
    photo_object,
    post_callback,
    read_params,
    send_content,
    upload_answer,
    uploaded_tokens,
    user_object,
    version_of,
)

__all__ = ["Call", "FakeVk", "VkError"]

logger = logging.getLogger(__name__)

Handler = Callable[[Call], Awaitable[Any]]


class FakeVk(FakeServer[Call]):
    """An in-process VK API for one community; use as ``async with FakeVk() as fake``."""

    name = "fake VK"

    def __init__(
        self, token: str = "vk-test-token", *, group_id: int = 229000001, history: int = 1000
    ) -> None:
        super().__init__()
        self.token, self.group_id = token, group_id
        self.group = group_object(group_id, "Окно", "okno_test")
        self.messages: list[JSON] = []  # what the community sent, see ``sent``
        self.event_answers: list[JSON] = []  # messages.sendMessageEventAnswer
        self._polls: dict[int, web.Request] = {}  # Long Poll requests open now, by id
        self.most_polling_at_once = 0
        self.deliveries: list[tuple[str, JSON, int]] = []  # Callback API posts: (url, event, status)
        self.users: dict[int, tuple[str, str]] = {}
        self.photos: dict[str, JSON] = {}  # "photo<owner>_<id>" -> saved photo
        self.docs: dict[str, JSON] = {}  # "doc<owner>_<id>" -> saved doc
        self.message_limit = 4096
        self.key = secrets.token_hex(20)
        self.ts = 10  # the number of the newest Long Poll event
        self._events: list[tuple[int, JSON]] = []
        self._history, self._dropped_upto = history, 0
        self._by_random: dict[tuple[int, int], int] = {}  # (peer_id, random_id) -> message id
        self._cmids: dict[int, int] = {}  # peer_id -> last conversation_message_id
        self._files: dict[str, bytes] = {}  # served at /files/<name>
        self._uploads: dict[str, tuple[str, bytes]] = {}  # upload token -> (file name, content)
        self._denied: set[int] = set()
        self._faults: dict[str, list[VkError]] = {}
        self._hangs: dict[str, list[float]] = {}
        self._lp_faults: list[int] = []
        self._ids, self._seq = itertools.count(1), itertools.count(1)
        self._new_event = asyncio.Event()
        self.app.router.add_route("*", "/method/{method}", self._handle_api)
        self.app.router.add_get("/longpoll/{group}", self._handle_longpoll)
        self.app.router.add_post("/upload/{kind}", self._handle_upload)
        self.app.router.add_get("/files/{name:.+}", self._handle_file)

    def release(self) -> None:
        self._new_event.set()

    def canonical(self, handler_name: str) -> str:
        return handler_name.replace("_", ".", 1)  # _api_messages_send serves messages.send

    def describe(self, call: Call) -> str:
        return f"{call.method}{' (execute)' if call.via else ''} -> {call.error or 'ok'} {brief(call.params)}"

    # Queries

    def sent(self, peer_id: int | None = None) -> list[JSON]:
        """Messages the community sent (id, peer_id, text, keyboard, attachment, random_id, ...)."""
        return [message for message in self.messages if peer_id in (None, message["peer_id"])]

    # Faults

    def fail_next(self, method: str, code: int, count: int = 1, msg: str | None = None) -> None:
        """Answer the next ``count`` calls of ``method`` with VK error ``code`` (6, 9, 10, 29, 901, ...)."""
        self._faults.setdefault(self._name(method), []).extend([VkError(code, msg)] * count)

    def hang_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Delay the next ``count`` answers of ``method`` ("longpoll" for the Long Poll server)."""
        self._hangs.setdefault(self._name(method), []).extend([seconds] * count)

    def fail_longpoll(self, failed: int) -> None:
        """Make the next Long Poll answer ``{"failed": 1, "ts": ...}``, ``{"failed": 2}`` or ``3``.

        2 and 3 also expire the key, as VK does, so the client has to call groups.getLongPollServer."""
        self._lp_faults.append(failed)

    def set_message_limit(self, limit: int) -> None:
        self.message_limit = limit

    def deny_messages(self, user_id: int) -> None:
        """The user has not allowed (or has forbidden) messages from the community: sends fail with 901."""
        self._denied.add(user_id)

    def add_user(self, user_id: int, first_name: str, last_name: str = "") -> None:
        self.users[user_id] = (first_name, last_name)

    # Events

    def push_event(self, kind: str, obj: JSON) -> JSON:
        """Queue an event for the Long Poll server under the next ts; returns it."""
        self.ts += 1
        new = event(kind, obj, self.group_id)
        self._events.append((self.ts, new))
        if len(self._events) > self._history:
            self._dropped_upto = self._events.pop(0)[0]
        self._new_event.set()
        return new

    def message_new(
        self,
        peer_id: int,
        text: str,
        from_id: int | None = None,
        payload: JSON | str | None = None,
        attachments: Iterable[JSON] = (),
        client_info: JSON | None = None,
    ) -> JSON:
        """A user writes to the community (``peer_id`` >= 2e9 is a chat, where bots get ``id`` 0)."""
        from_id = from_id or (peer_id if peer_id < CHAT_PEER_BASE else 4242)
        message_id = next(self._ids) if peer_id < CHAT_PEER_BASE else 0
        extra: JSON = {"attachments": list(attachments)}
        if payload is not None:
            extra["payload"] = payload if isinstance(payload, str) else dumps(payload)
        message = message_object(message_id, peer_id, from_id, text, self._next_cmid(peer_id), **extra)
        return self.push_event(
            "message_new", {"message": message, "client_info": client_info or default_client_info()}
        )

    def message_event(
        self, peer_id: int, payload: JSON, user_id: int | None = None, conversation_message_id: int = 0
    ) -> JSON:
        """A callback button press on a message of the community (by default the last one in the peer)."""
        cmid = conversation_message_id or self._cmids.get(peer_id, 0)
        return self.push_event(
            "message_event", message_event_object(peer_id, user_id or peer_id, payload, cmid)
        )

    def message_allow(self, user_id: int, key: str = "") -> JSON:
        self._denied.discard(user_id)
        return self.push_event("message_allow", {"user_id": user_id, "key": key})

    def message_deny(self, user_id: int) -> JSON:
        self._denied.add(user_id)
        return self.push_event("message_deny", {"user_id": user_id})

    def photo_attachment(self, content: bytes = b"\xff\xd8\xff\xe0fake-jpeg", owner_id: int = 1) -> JSON:
        """A photo a user attached, its sizes downloadable from ``/files/``."""
        photo = photo_object(next(self._seq) + 456239000, owner_id, self.url)
        self._files.update(dict.fromkeys(photo_file_names(photo), content))
        return {"type": "photo", "photo": photo}

    def doc_attachment(self, content: bytes, title: str = "file.pdf", owner_id: int = 1) -> JSON:
        doc = doc_object(next(self._seq) + 657000000, owner_id, self.url, title, len(content))
        self._files[doc["url"].rsplit("/files/", 1)[1]] = content
        return {"type": "doc", "doc": doc}

    def audio_message_attachment(self, content: bytes, duration: int = 3, owner_id: int = 1) -> JSON:
        """A voice message a user recorded; ``content`` is served at both of its links."""
        message = audio_message_object(next(self._seq) + 458000000, owner_id, self.url, duration)
        for link in (message["link_ogg"], message["link_mp3"]):
            self._files[link.rsplit("/files/", 1)[1]] = content
        return {"type": "audio_message", "audio_message": message}

    # Callback API

    async def deliver_callback(
        self, url: str, event: JSON, secret: str | None = None, *, retry: int = 0
    ) -> tuple[int, str]:
        """POST ``event`` to a Callback API webhook as VK does; returns (HTTP status, body text)."""
        body = event | ({"secret": secret} if secret is not None else {})
        status, text = await post_callback(url, body, retry)
        self.deliveries.append((url, body, status))
        return status, text

    async def confirmation(
        self, url: str, group_id: int | None = None, secret: str | None = None
    ) -> tuple[int, str]:
        return await self.deliver_callback(
            url, {"type": "confirmation", "group_id": group_id or self.group_id}, secret
        )

    # Plumbing

    def _next_cmid(self, peer_id: int) -> int:
        self._cmids[peer_id] = self._cmids.get(peer_id, 0) + 1
        return self._cmids[peer_id]

    async def _hang(self, method: str) -> None:
        if hangs := self._hangs.get(method):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), hangs.pop(0))

    async def _handle_api(self, request: web.Request) -> web.Response:
        params, files = await read_params(request)
        call = Call(self._name(request.match_info["method"]), params, files=files)
        self.calls.append(call)
        logger.debug("%s %s", call.method, brief(params))
        try:
            await self._hang(call.method)
            result = await self._answer(call)
        except VkError as error:
            call.error = error.code
            return answer(error.body(call.method, params))
        body = {"response": result}
        return answer(body | ({"execute_errors": call.execute_errors} if call.execute_errors else {}))

    async def _answer(self, call: Call) -> Any:
        if call.params.get("access_token") != self.token:
            raise VkError(5)
        version_of(call.params.get("v"))
        if faults := self._faults.get(call.method):
            raise faults.pop(0)
        handler: Handler | None = getattr(self, "_api_" + call.method.replace(".", "_"), None)
        if handler is None:
            raise VkError(3, f"Unknown method passed: {call.method}")
        return await handler(call)

    async def _handle_longpoll(self, request: web.Request) -> web.Response:
        if request.match_info["group"] != str(self.group_id):
            raise web.HTTPNotFound()
        call = Call("longpoll", dict(request.query))
        self.calls.append(call)
        # VK would give each of two pollers the same events: count those polling at once (a poller
        # that died with a poll open has its connection closed, and is not counted)
        self._polls = {k: r for k, r in self._polls.items() if r.transport and not r.transport.is_closing()}
        self._polls[id(request)] = request
        self.most_polling_at_once = max(self.most_polling_at_once, len(self._polls))
        try:
            await self._hang("longpoll")
            body = await self._poll(call.params)
        finally:
            self._polls.pop(id(request), None)
        call.error = int(body.get("failed", 0))
        return answer(body)

    async def _poll(self, query: dict[str, str]) -> JSON:
        if self._lp_faults:
            failed = self._lp_faults.pop(0)
            if failed != 1:
                self.key = secrets.token_hex(20)  # the old key is expired from now on
            return {"failed": 1, "ts": str(self.ts)} if failed == 1 else {"failed": failed}
        if query.get("act") != "a_check" or query.get("key") != self.key:
            return {"failed": 2}
        try:
            ts = int(query.get("ts", ""))
        except ValueError:
            return {"failed": 1, "ts": str(self.ts)}
        if ts < self._dropped_upto or ts > self.ts:
            return {"failed": 1, "ts": str(self.ts)}
        wait = query.get("wait", "0")
        deadline = time.monotonic() + min(float(wait) if wait.isdigit() else 0.0, MAX_POLL_SECONDS)
        while not (ready := [e for n, e in self._events if n > ts]) and not self._closed.is_set():
            if (remaining := deadline - time.monotonic()) <= 0:
                break
            self._new_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_event.wait(), remaining)
        return {"ts": str(self.ts), "updates": ready}

    async def _handle_upload(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        _, files = await read_params(request)
        call = Call(f"upload.{kind}", {}, files=files)
        self.calls.append(call)
        await self._hang(call.method)
        if kind not in ("photo", "doc"):
            raise web.HTTPNotFound()
        token = secrets.token_hex(8)
        if (uploaded := next(iter(files.values()), None)) is not None:
            self._uploads[token] = uploaded
        return answer(upload_answer(kind, token if uploaded else None))

    async def _handle_file(self, request: web.Request) -> web.Response:
        self.calls.append(Call("files.get", {"name": request.match_info["name"]}))
        if (content := self._files.get(request.match_info["name"])) is None:
            raise web.HTTPNotFound()
        return web.Response(body=content, content_type="application/octet-stream")

    # API methods

    async def _api_groups_getById(self, call: Call) -> Any:
        asked = [
            part
            for part in (call.params.get("group_ids") or call.params.get("group_id", "")).split(",")
            if part
        ]
        if any(name not in (str(self.group_id), self.group["screen_name"]) for name in asked):
            raise invalid("group_ids is invalid")
        if version_of(call.params.get("v")) < (5, 194):
            return [dict(self.group)]
        return {"groups": [dict(self.group)], "profiles": []}

    async def _api_groups_getLongPollServer(self, call: Call) -> JSON:
        if int_param(call.params, "group_id") != self.group_id:
            raise VkError(15, "Access denied: no access to this group")
        return {"key": self.key, "server": f"{self.url}/longpoll/{self.group_id}", "ts": str(self.ts)}

    async def _api_messages_send(self, call: Call) -> Any:
        """One peer: the new message id; ``peer_ids``: a list of {peer_id, message_id} (or error) items."""
        content = send_content(call.params, self.message_limit)
        if "peer_ids" in call.params:
            return [self._send_one(peer, content, batch=True) for peer in ids_param(call.params, "peer_ids")]
        return self._send_one(peer_of(call.params), content)

    def _send_one(self, peer: int, content: JSON, *, batch: bool = False) -> Any:
        random_id = content["random_id"]
        if (known := self._by_random.get((peer, random_id))) is not None:
            message = next(m for m in self.messages if m["id"] == known)
        elif peer in self._denied:
            if not batch:
                raise VkError(901)
            return batch_item(peer, None)
        else:
            message = {"id": next(self._ids), "peer_id": peer, **content, "date": int(time.time())}
            message["conversation_message_id"] = self._next_cmid(peer)
            self.messages.append(message)
            if random_id:
                self._by_random[(peer, random_id)] = message["id"]
        return batch_item(peer, message) if batch else message["id"]

    async def _api_messages_sendMessageEventAnswer(self, call: Call) -> int:
        if not call.params.get("event_id"):
            raise invalid("event_id is undefined")
        record: JSON = {"event_id": call.params["event_id"], "user_id": int_param(call.params, "user_id")}
        record["peer_id"] = int_param(call.params, "peer_id")
        if call.params.get("event_data"):
            record["event_data"] = json_param(call.params, "event_data")
        self.event_answers.append(record)
        return 1

    async def _api_users_get(self, call: Call) -> list[JSON]:
        ids = ids_param(call.params, "user_ids") or ids_param(call.params, "user_id")
        return [user_object(user_id, *self.users.get(user_id, ("Иван", "Петров"))) for user_id in ids]

    async def _api_photos_getMessagesUploadServer(self, call: Call) -> JSON:
        return {
            "upload_url": f"{self.url}/upload/photo",
            "album_id": -64,
            "group_id": self.group_id,
            "user_id": 0,
        }

    async def _api_docs_getMessagesUploadServer(self, call: Call) -> JSON:
        int_param(call.params, "peer_id")
        if call.params.get("type", "doc") not in ("doc", "audio_message", "graffiti"):
            raise invalid("type is invalid")
        return {"upload_url": f"{self.url}/upload/doc"}

    async def _api_photos_saveMessagesPhoto(self, call: Call) -> list[JSON]:
        tokens = uploaded_tokens(call.params.get("photo", ""))
        if not tokens or any(token not in self._uploads for token in tokens) or not call.params.get("hash"):
            raise invalid("photos_list is invalid")
        saved = []
        for token in tokens:
            photo = photo_object(next(self._seq) + 457239000, -self.group_id, self.url)
            self._files.update(dict.fromkeys(photo_file_names(photo), self._uploads.pop(token)[1]))
            self.photos[f"photo{photo['owner_id']}_{photo['id']}"] = photo
            saved.append(photo)
        return saved

    async def _api_docs_save(self, call: Call) -> JSON:
        if (uploaded := self._uploads.pop(call.params.get("file", ""), None)) is None:
            raise invalid("file is invalid")
        title = call.params.get("title") or uploaded[0]
        doc = doc_object(next(self._seq) + 658000000, -self.group_id, self.url, title, len(uploaded[1]))
        self._files[doc["url"].rsplit("/files/", 1)[1]] = uploaded[1]
        self.docs[f"doc{doc['owner_id']}_{doc['id']}"] = doc
        return {"type": "doc", "doc": doc}

    async def _api_execute(self, call: Call) -> list[Any]:
        items = parse_execute(call.params.get("code", ""))
        if len(items) > EXECUTE_MAX_CALLS:
            raise VkError(13, "Runtime error occurred during code invocation: Too many API calls")
        results: list[Any] = []
        for method, params in items:
            inner = Call(self._name(method), params, via="execute")
            self.calls.append(inner)
            try:
                if method != "messages.send":
                    raise VkError(3, f"Unknown method passed: {method} (execute supports messages.send)")
                if faults := self._faults.get(inner.method):
                    raise faults.pop(0)
                results.append(await self._api_messages_send(inner))
            except VkError as error:
                inner.error = error.code
                call.execute_errors.append(error.execute_item(method))
                results.append(False)
        return results
