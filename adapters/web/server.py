"""The citizen web chat on the aiohttp app: the page, the widget script, the socket and files."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from adapters.web.channel import CHANNEL, WebChannel, history_frame
from adapters.web.embedding import Contacts, EmbedCheck
from adapters.web.files import NO_VISITOR, TOKEN, ChatFiles, FileQuotas, described, error
from adapters.web.guards import OpenSockets, RefusalLog, same_origin
from dialog.presses import is_event
from storage.records import NewUpdate
from storage.state import KnownWaits, MemoryStore, StateStore
from storage.web import HistoryItem

logger = logging.getLogger("okno.adapters.web")

STATIC = Path(__file__).parent / "static"
FRAME_LIMIT = 16 * 1024  # bytes of one socket frame; a message is at most MAX_CHARS characters
MAX_CHARS = 2000
HISTORY = 100

TOO_LONG = "Сообщение слишком длинное: не больше {limit} символов. Разделите его на несколько."
TOO_FAST = "Слишком много сообщений подряд. Подождите несколько секунд и отправьте снова."
BAD_FRAME = "Не удалось прочитать сообщение. Обновите страницу."
UNAVAILABLE = "Сервис на минуту недоступен. Сообщение не потеряно: отправим его, как только связь вернётся."
TOO_MANY_CHATS = (
    "С вашего адреса начато слишком много чатов. Попробуйте позже или позвоните на горячую линию."
)
TOO_MANY_SOCKETS = "С вашего адреса открыто слишком много окон чата. Закройте лишние и обновите страницу."
FOREIGN_SITE = "Чат нельзя открыть с этого сайта."
OVERLOADED = "Сейчас в чате слишком много посетителей. Подождите, чат подключится сам."
ENDED = "Чат завершён."
BUSY_CLOSE = 4429  # the socket's close code when an address is over its budget; the page waits and retries

AddressOf = Callable[[web.Request], str]  # the citizen's address, seen through trusted proxies
Enqueue = Callable[[NewUpdate], Awaitable[None]]  # returns once the update is stored
TakeToken = Callable[[str, float, float], Awaitable[float]]


@dataclass(frozen=True, slots=True)
class ChatLimits:
    per_socket_per_second: float = 1.0  # sustained; bursts up to `burst`
    per_ip_per_second: float = 3.0
    burst: float = 5.0
    file_bytes: int = 2 * 1024 * 1024
    file_limit_text: str = "2 МБ"
    voice_seconds: int = 180
    voice_limit_text: str = "3 минут"  # «длиннее 3 минут»
    allowed_origins: tuple[str, ...] = ()  # sites that may embed the chat (the widget's iframe)
    new_visitors_per_address: int = 30  # conversations one address may start in a window
    new_visitors_window: float = 3600.0
    # of those, at most so many at once; the rest come at the window's pace (one every 2 minutes)
    new_visitors_at_once: int = 5
    sockets_per_address: int = 20  # open at once in one process
    sockets_in_all: int = 5000  # open at once in one process, every address together
    files: FileQuotas = field(default_factory=FileQuotas)


def chat_id_of(token: str) -> str:
    """The conversation of a visitor token; the token itself, a bearer secret, is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class WebChat:
    def __init__(
        self,
        channel: WebChannel,
        enqueue: Enqueue,
        wake: Callable[[str], None],  # a chat's update was stored: its worker looks now
        take_token: TakeToken,
        limits: ChatLimits,
        address_of: AddressOf | None = None,
        contacts: Contacts | None = None,
        states: StateStore | None = None,
    ) -> None:
        self.channel = channel
        self.enqueue = enqueue
        self.wake = wake
        self.take_token = take_token
        self.limits = limits
        self.address_of = address_of or (lambda request: request.remote or "unknown")
        self.contacts = contacts or Contacts()
        self.states = states or MemoryStore()
        self.open = OpenSockets(limits.sockets_per_address, limits.sockets_in_all)
        self.known = KnownWaits()
        self.refusals = RefusalLog(logger)
        self.files = ChatFiles(channel.store, self.states, limits.files, chat_id_of, self.address_of)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/chat", self.page)
        app.router.add_get("/chat/", self.page)
        app.router.add_get("/chat/widget.js", self.widget)
        app.router.add_get("/chat/embed", EmbedCheck(self.limits.allowed_origins, self.contacts).answer)
        app.router.add_get("/chat/ws", self.socket)
        app.router.add_post("/chat/files", self.upload)
        app.router.add_get("/chat/files/{ref}", self.files.download)
        app.router.add_post("/chat/end", self.end)
        app.router.add_static("/chat/static", STATIC, append_version=False)

    # Pages

    async def page(self, request: web.Request) -> web.StreamResponse:
        ancestors = " ".join(("'self'", *self.limits.allowed_origins))
        headers = {
            "Content-Security-Policy": (
                "default-src 'self'; img-src 'self' data: blob:; "
                f"connect-src 'self' {_own_sockets(request)}; "
                f"frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        }
        return web.FileResponse(STATIC / "chat.html", headers=headers)

    async def widget(self, request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "max-age=300"}
        return web.FileResponse(STATIC / "widget.js", headers=headers)

    # The socket

    async def socket(self, request: web.Request) -> web.StreamResponse:
        if not same_origin(request, self.limits.allowed_origins):  # another site's page: no upgrade
            logger.info("a chat socket from a foreign page was refused: %s", request.headers.get("Origin"))
            raise web.HTTPForbidden(text=FOREIGN_SITE)
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=FRAME_LIMIT)
        await ws.prepare(request)
        ip = self.address_of(request)
        over = self.open.take(ip)
        if over is not None:
            self.refusals.refused(f"a chat socket: too many open in this {over}")
            text = TOO_MANY_SOCKETS if over == "address" else OVERLOADED
            await _refuse(ws, text, f"too many sockets from this {over}")
            return ws
        try:
            await self._converse(ws, await self._visitor(ws), ip)
        except (TimeoutError, ValueError, TypeError):
            pass  # no hello, or a closed socket: nothing to keep
        except ConnectionError as exc:
            logger.debug("a web chat socket broke: %s", exc)
        finally:
            self.open.give_back(ip)
            await ws.close()
        return ws

    async def _visitor(self, ws: web.WebSocketResponse) -> str | None:
        """The token the hello names, if it may still be used; None for a new visitor."""
        hello = await ws.receive_json(timeout=30)
        token = hello.get("visitor") if isinstance(hello, dict) else None
        if not isinstance(token, str) or not TOKEN.match(token):
            return None
        # a token nobody has, or one whose chat was ended here, starts a new chat with a new token
        known = await self.channel.store.conversation_exists(CHANNEL, chat_id_of(token))
        return token if known else None

    async def _admitted(self, ip: str) -> bool:
        """May this address start one more conversation now? Counted only when it may."""
        limits, key = self.limits, f"web:new-visitors:{ip}"
        if self.known.left(key) > 0:  # a flood's address, known to be over: no round trip to the store
            return False
        pace = limits.new_visitors_per_address / limits.new_visitors_window
        wait = await self.take_token(f"web:new-visitors-now:{ip}", pace, limits.new_visitors_at_once)
        if wait <= 0:
            window = limits.new_visitors_window
            wait = await self.states.take_slot(key, limits.new_visitors_per_address, window, 0.0)
        if wait > 0:
            self.known.spent(key, wait)
        return wait <= 0

    async def _converse(self, ws: web.WebSocketResponse, token: str | None, ip: str) -> None:
        """A new visitor (no token) is admitted before anything is read or made for them."""
        if token is None and not await self._admitted(ip):
            return await self._refuse_new(ws)
        new = token is None
        token = token or secrets.token_urlsafe(24)
        chat_id = chat_id_of(token)
        queue = self.channel.hub.subscribe(chat_id)  # first: nothing sent meanwhile is missed
        try:
            history = [] if new else await self.channel.store.history(CHANNEL, chat_id, HISTORY)
            frames = [history_frame(i) for i in history if _shown(i)]
            if new:  # greeted with the menu, once (the key sees to that)
                payload = {"visitor": chat_id, "id": "start", "text": "/start"}
                greeting = NewUpdate(f"web:{chat_id}:start", CHANNEL, f"{CHANNEL}:{chat_id}", payload)
                if not await self._store(ws, greeting):  # stored first: the token then has a chat
                    return None
            await ws.send_json({"type": "welcome", "visitor": token, "history": frames})
            pusher = asyncio.create_task(_push(ws, queue))
            try:
                await self._receive(ws, chat_id, ip)
            finally:
                pusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pusher
        finally:
            self.channel.hub.unsubscribe(chat_id, queue)
        return None

    async def _refuse_new(self, ws: web.WebSocketResponse) -> None:
        self.refusals.refused("a new web chat: the address is over its budget of new chats")
        await _refuse(ws, TOO_MANY_CHATS, "too many new chats from this address")

    async def _receive(self, ws: web.WebSocketResponse, chat_id: str, ip: str) -> None:
        bucket = _Bucket(self.limits.per_socket_per_second, self.limits.burst)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                if message.type == WSMsgType.ERROR:
                    return
                continue
            try:
                frame = json.loads(message.data)
            except ValueError:
                await ws.send_json({"type": "error", "id": None, "text": BAD_FRAME})
                continue
            if isinstance(frame, dict):
                await self._frame(ws, frame, chat_id, ip, bucket)

    async def _frame(
        self, ws: web.WebSocketResponse, frame: dict[str, Any], chat_id: str, ip: str, bucket: _Bucket
    ) -> None:
        kind, client_id = frame.get("type"), frame.get("id")
        if kind not in ("message", "press", "file") or not isinstance(client_id, str) or len(client_id) > 64:
            await ws.send_json({"type": "error", "id": None, "text": BAD_FRAME})
            return
        text = frame.get("text") if isinstance(frame.get("text"), str) else ""
        if len(str(text)) > MAX_CHARS:
            await ws.send_json({"type": "error", "id": client_id, "text": TOO_LONG.format(limit=MAX_CHARS)})
            return
        if not bucket.take() or await self.take_token(f"web:ip:{ip}", self.limits.per_ip_per_second, 20) > 0:
            await ws.send_json({"type": "error", "id": client_id, "text": TOO_FAST})
            return
        payload = await self._payload(frame, chat_id, str(text))
        if payload is None:
            await ws.send_json({"type": "error", "id": client_id, "text": BAD_FRAME})
            return
        # the key makes a resent frame (after a reconnect) count once
        update = NewUpdate(f"web:{chat_id}:{client_id}", CHANNEL, f"{CHANNEL}:{chat_id}", payload)
        if await self._store(ws, update):
            await ws.send_json({"type": "ack", "id": client_id})

    async def _store(self, ws: web.WebSocketResponse, update: NewUpdate) -> bool:
        try:
            await self.enqueue(update)
        except Exception:  # the database is away: the page keeps the message and resends it
            logger.exception("a web chat message could not be stored; the socket is closed for a resend")
            await ws.send_json({"type": "error", "id": None, "text": UNAVAILABLE})
            await ws.close()
            return False
        self.wake(update.chat_key)
        return True

    async def _payload(self, frame: dict[str, Any], chat_id: str, text: str) -> dict[str, Any] | None:
        payload: dict[str, Any] = {"visitor": chat_id, "id": frame["id"], "text": text}
        if frame["type"] == "press":
            button = frame.get("button")
            if not isinstance(button, str) or not button or len(button) > 128:
                return None
            payload |= {"button": button, "text": str(frame.get("label") or "")[:128]}
        elif frame["type"] == "file":
            stored = await self.channel.store.file(str(frame.get("ref") or ""))
            if stored is None or stored.chat_id != chat_id:
                return None
            payload["files"] = [described(stored)]
        elif not text.strip():
            return None
        return payload

    # Files

    async def upload(self, request: web.Request) -> web.Response:
        if not same_origin(request, self.limits.allowed_origins):
            return error(403, NO_VISITOR)
        limits = self.limits
        data = await self.files.upload(request, limits.file_bytes, limits.file_limit_text)
        if isinstance(data, web.Response):
            return data
        return await self.files.keep(
            request, data, (limits.file_limit_text, limits.voice_seconds, limits.voice_limit_text)
        )

    async def end(self, request: web.Request) -> web.Response:
        """«Завершить чат»: the visitor's token is never accepted again, so whoever sits at the same
        browser next sees neither the history nor the files; the visitor's open tabs are told."""
        token = request.headers.get("X-Okno-Visitor", "")
        if not same_origin(request, self.limits.allowed_origins) or not TOKEN.match(token):
            return error(403, NO_VISITOR)
        chat_id = chat_id_of(token)
        await self.channel.store.end_visitor(chat_id)
        await self.channel.fanout.publish(chat_id, {"type": "ended", "text": ENDED})
        logger.info("a web chat visitor ended their chat")
        return web.json_response({"ended": True}, headers={"Cache-Control": "no-store"})


async def _push(ws: web.WebSocketResponse, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
    while (frame := await queue.get()) is not None:
        await ws.send_json(frame)
        if frame.get("type") == "ended":  # the chat was ended in another tab: this one is over too
            break
    await ws.close()  # fell behind (or ended): the page reconnects and reloads its history


def _shown(item: HistoryItem) -> bool:
    return not (item.direction == "in" and item.text == "/start") and not is_event(item.payload)


async def _refuse(ws: web.WebSocketResponse, text: str, reason: str) -> None:
    """Say why in Russian, then close with BUSY_CLOSE and the reason in English."""
    with contextlib.suppress(ConnectionError):
        await ws.send_json({"type": "error", "id": None, "text": text})
    await ws.close(code=BUSY_CLOSE, message=reason.encode())


def _own_sockets(request: web.Request) -> str:
    """The chat's own socket origin, for CSP connect-src ('self' does not cover ws: everywhere)."""
    host = request.host
    return f"wss://{host}" if request.secure else f"ws://{host} wss://{host}"


class _Bucket:
    """Messages one socket may send: `burst` at once, then `rate` a second."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
