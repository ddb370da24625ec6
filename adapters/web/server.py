"""The citizen web chat on the aiohttp app: the page, the widget script, the socket and files."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

from adapters.web.channel import CHANNEL, WebChannel, history_frame
from adapters.web.embedding import Contacts, EmbedCheck
from adapters.web.voice import OGG_MIME, NotARecording, as_ogg, audio_type, ogg_seconds
from dialog.presses import is_event
from dialog.ticket_talk import IMAGE_TYPES, image_type
from handoff.ranges import ranged
from storage.models import WebFile
from storage.records import NewUpdate

logger = logging.getLogger("okno.adapters.web")

STATIC = Path(__file__).parent / "static"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
FRAME_LIMIT = 16 * 1024  # bytes of one socket frame; a message is at most MAX_CHARS characters
MAX_CHARS = 2000
HISTORY = 100

TOO_LONG = "Сообщение слишком длинное: не больше {limit} символов. Разделите его на несколько."
TOO_FAST = "Слишком много сообщений подряд. Подождите несколько секунд и отправьте снова."
BAD_FRAME = "Не удалось прочитать сообщение. Обновите страницу."
FILE_TOO_BIG = "Файл больше {limit} — такой файл не принять. Сожмите его или отправьте другой."
FILE_KIND = "Можно отправить только фото в формате JPEG или PNG (до {limit})."
VOICE_TOO_LONG = (
    "Голосовое сообщение длиннее {limit} — такое не принять. Запишите покороче или напишите текстом."
)
VOICE_UNREADABLE = "Не удалось прочитать запись. Запишите сообщение ещё раз или напишите текстом."
UNAVAILABLE = "Сервис на минуту недоступен. Сообщение не потеряно: отправим его, как только связь вернётся."
NO_VISITOR = "Сначала откройте чат — файл отправляется в разговор."
VOICE_NAME = "voice.ogg"
SERVED_INLINE = (*IMAGE_TYPES, OGG_MIME)  # what the page shows or plays; anything else is downloaded

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


def chat_id_of(token: str) -> str:
    """The conversation of a visitor token; the token itself, a bearer secret, is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class WebChat:
    def __init__(
        self,
        channel: WebChannel,
        enqueue: Enqueue,
        wake: Callable[[], None],
        take_token: TakeToken,
        limits: ChatLimits,
        address_of: AddressOf | None = None,
        contacts: Contacts | None = None,
    ) -> None:
        self.channel = channel
        self.enqueue = enqueue
        self.wake = wake
        self.take_token = take_token
        self.limits = limits
        self.address_of = address_of or (lambda request: request.remote or "unknown")
        self.contacts = contacts or Contacts()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/chat", self.page)
        app.router.add_get("/chat/", self.page)
        app.router.add_get("/chat/widget.js", self.widget)
        app.router.add_get("/chat/embed", EmbedCheck(self.limits.allowed_origins, self.contacts).answer)
        app.router.add_get("/chat/ws", self.socket)
        app.router.add_post("/chat/files", self.upload)
        app.router.add_get("/chat/files/{ref}", self.download)
        app.router.add_static("/chat/static", STATIC, append_version=False)

    # Pages

    async def page(self, request: web.Request) -> web.StreamResponse:
        ancestors = " ".join(("'self'", *self.limits.allowed_origins))
        headers = {
            "Content-Security-Policy": (
                "default-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; "
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
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=FRAME_LIMIT)
        await ws.prepare(request)
        ip = self.address_of(request)
        try:
            hello = await ws.receive_json(timeout=30)
            token = hello.get("visitor") if isinstance(hello, dict) else None
            if not isinstance(token, str) or not TOKEN.match(token):
                token = secrets.token_urlsafe(24)
            await self._converse(ws, token, ip)
        except (TimeoutError, ValueError, TypeError):
            pass  # no hello, or a closed socket: nothing to keep
        except ConnectionError as exc:
            logger.debug("a web chat socket broke: %s", exc)
        finally:
            await ws.close()
        return ws

    async def _converse(self, ws: web.WebSocketResponse, token: str, ip: str) -> None:
        chat_id = chat_id_of(token)
        queue = self.channel.hub.subscribe(chat_id)  # first: nothing sent meanwhile is missed
        try:
            history = await self.channel.store.history(CHANNEL, chat_id, HISTORY)
            shown = [
                i
                for i in history
                if not (i.direction == "in" and i.text == "/start") and not is_event(i.payload)
            ]
            frames = [history_frame(i) for i in shown]
            await ws.send_json({"type": "welcome", "visitor": token, "history": frames})
            if not history:  # a new visitor is greeted with the menu, once (the key sees to that)
                payload = {"visitor": chat_id, "id": "start", "text": "/start"}
                greeting = NewUpdate(f"web:{chat_id}:start", CHANNEL, f"{CHANNEL}:{chat_id}", payload)
                if not await self._store(ws, greeting):
                    return
            pusher = asyncio.create_task(_push(ws, queue))
            try:
                await self._receive(ws, chat_id, ip)
            finally:
                pusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pusher
        finally:
            self.channel.hub.unsubscribe(chat_id, queue)

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
        self.wake()
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
            payload["files"] = [_described(stored)]
        elif not text.strip():
            return None
        return payload

    # Files

    async def upload(self, request: web.Request) -> web.Response:
        token = request.headers.get("X-Okno-Visitor", "")
        if not TOKEN.match(token):
            return _error(403, NO_VISITOR)
        limit = self.limits.file_bytes
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            return _error(413, FILE_TOO_BIG.format(limit=self.limits.file_limit_text))
        reader = await request.multipart()
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or part.name != "file":
            return _error(400, FILE_KIND.format(limit=self.limits.file_limit_text))
        data = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            data += chunk
            if len(data) > limit:
                return _error(413, FILE_TOO_BIG.format(limit=self.limits.file_limit_text))
        mime = image_type(bytes(data))
        if mime is None:
            return await self._recording(token, bytes(data))
        name = (part.filename or "photo")[:200]
        ref = await self.channel.store.save_file(chat_id_of(token), name, mime, bytes(data))
        return web.json_response({"ref": ref, "name": name, "size": len(data), "mime": mime})

    async def _recording(self, token: str, data: bytes) -> web.Response:
        """A voice message recorded on the page, kept as Ogg Opus (what Telegram plays as a voice)."""
        if audio_type(data) is None:
            return _error(415, FILE_KIND.format(limit=self.limits.file_limit_text))
        try:
            # repacking is quick (pure Python over a few hundred packets), but not for the event loop
            found = await asyncio.to_thread(as_ogg, data)
        except NotARecording as exc:
            logger.info("a web chat recording was refused: %s", exc)
            return _error(415, VOICE_UNREADABLE)
        seconds = int(found.seconds)
        if seconds > self.limits.voice_seconds:
            return _error(413, VOICE_TOO_LONG.format(limit=self.limits.voice_limit_text))
        ref = await self.channel.store.save_file(chat_id_of(token), VOICE_NAME, OGG_MIME, found.data)
        return web.json_response(
            {"ref": ref, "name": VOICE_NAME, "size": len(found.data), "mime": OGG_MIME, "duration": seconds}
        )

    async def download(self, request: web.Request) -> web.Response:
        stored = await self.channel.store.file(request.match_info["ref"])
        if stored is None:
            raise web.HTTPNotFound(text="Файл не найден.")
        mime = stored.mime_type if stored.mime_type in SERVED_INLINE else "application/octet-stream"
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=86400",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        }
        if mime == "application/octet-stream":
            headers["Content-Disposition"] = "attachment"
        return ranged(request, bytes(stored.data), mime, headers)


async def _push(ws: web.WebSocketResponse, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
    while (frame := await queue.get()) is not None:
        await ws.send_json(frame)
    await ws.close()  # fell behind: the page reconnects and reloads its history


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


def _described(stored: WebFile) -> dict[str, Any]:
    file: dict[str, Any] = {
        "ref": stored.ref,
        "name": stored.name,
        "mime": stored.mime_type,
        "size": stored.size,
    }
    if stored.mime_type == OGG_MIME:  # a recording, checked when it was kept: how long it plays
        with contextlib.suppress(NotARecording):
            file["duration"] = int(ogg_seconds(bytes(stored.data)))
    return file


def _error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)
