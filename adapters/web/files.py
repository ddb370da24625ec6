"""The web chat's files: a citizen uploads a photo or a recording into their conversation, within
quotas, and opens it again with their token or a signed link that expires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import BodyPartReader, web

from adapters.web.guards import ByteBudget, RefusalLog
from adapters.web.voice import OGG_MIME, NotARecording, as_ogg, audio_type, ogg_seconds
from dialog.ticket_talk import IMAGE_TYPES, image_type
from handoff.ranges import ranged
from storage.models import WebFile
from storage.state import StateStore
from storage.web import WebStore

logger = logging.getLogger("okno.adapters.web.files")

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
CHANNEL = "web"
FILE_TOO_BIG = "Файл больше {limit} — такой файл не принять. Сожмите его или отправьте другой."
FILE_KIND = "Можно отправить только фото в формате JPEG или PNG (до {limit})."
VOICE_TOO_LONG = (
    "Голосовое сообщение длиннее {limit} — такое не принять. Запишите покороче или напишите текстом."
)
VOICE_UNREADABLE = "Не удалось прочитать запись. Запишите сообщение ещё раз или напишите текстом."
NO_VISITOR = "Сначала откройте чат — файл отправляется в разговор."
TOO_MANY_FILES = "Слишком много файлов за последнее время. Попробуйте позже или опишите вопрос текстом."
FILE_FORBIDDEN = "Ссылка на файл устарела. Обновите страницу чата."
FILE_GONE = "Файл не найден."
VOICE_NAME = "voice.ogg"
SERVED_INLINE = (*IMAGE_TYPES, OGG_MIME)  # what the page shows or plays; anything else is downloaded
HEADERS = {"Cache-Control": "private, no-store", "Content-Security-Policy": "default-src 'none'; sandbox"}


@dataclass(frozen=True, slots=True)
class FileQuotas:
    """What one visitor, and one address, may upload in a period."""

    per_visitor: int = 20
    bytes_per_visitor: int = 20 * 1024 * 1024
    per_address: int = 60
    bytes_per_address: int = 60 * 1024 * 1024
    period_seconds: float = 24 * 3600.0


class ChatFiles:
    def __init__(
        self,
        store: WebStore,
        states: StateStore,
        quotas: FileQuotas,
        chat_id_of: Callable[[str], str],
        address_of: Callable[[web.Request], str],
    ) -> None:
        self.store, self.states, self.quotas = store, states, quotas
        self.chat_id_of, self.address_of = chat_id_of, address_of
        self.bytes = ByteBudget(states, quotas.bytes_per_address, quotas.period_seconds)
        self.refusals = RefusalLog(logger)

    async def upload(
        self, request: web.Request, limit: int, limit_text: str
    ) -> web.Response | tuple[str, bytes]:
        """The file's name and bytes, once the visitor, the quotas and the size allow it; else a refusal."""
        token = request.headers.get("X-Okno-Visitor", "")
        if not TOKEN.match(token) or not await self.store.conversation_exists(
            CHANNEL, self.chat_id_of(token)
        ):
            return error(403, NO_VISITOR)
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            return error(413, FILE_TOO_BIG.format(limit=limit_text))
        if not await self._within_quotas(request, token, 0, counted=False):
            return error(429, TOO_MANY_FILES)
        found = await _body(request, limit, limit_text)
        if isinstance(found, web.Response):
            return found
        if not await self._within_quotas(request, token, len(found[1]), counted=True):
            return error(429, TOO_MANY_FILES)
        await self.bytes.spend(self.address_of(request), len(found[1]))
        return found

    async def _within_quotas(self, request: web.Request, token: str, size: int, counted: bool) -> bool:
        """Checked before the body is read (size 0), and after it, when the address's count is taken."""
        q, address = self.quotas, self.address_of(request)
        since = datetime.now(UTC) - timedelta(seconds=q.period_seconds)
        count, used = await self.store.files_since(self.chat_id_of(token), since)
        if (
            count >= q.per_visitor
            or used + size > q.bytes_per_visitor
            or await self.bytes.left(address) < size
        ):
            self.refusals.refused("a web chat upload over the visitor's or the address's quota")
            return False
        if not counted:
            return True
        # the stored files above miss uploads under way: a slot taken at once keeps concurrent ones in count
        visitor = f"web:files:visitor:{self.chat_id_of(token)}"
        if await self.states.take_slot(visitor, q.per_visitor, q.period_seconds, 0.0) > 0:
            self.refusals.refused("a web chat upload over the visitor's count")
            return False
        wait = await self.states.take_slot(f"web:files:{address}", q.per_address, q.period_seconds, 0.0)
        if wait > 0:
            self.refusals.refused("a web chat upload over the address's count")
        return wait <= 0

    async def keep(
        self, request: web.Request, upload: tuple[str, bytes], limits: tuple[str, int, str]
    ) -> web.Response:
        """Keep an uploaded photo, or a recording repacked as Ogg Opus; what the page shows of it."""
        file_limit_text, voice_seconds, voice_limit_text = limits
        chat_id = self.chat_id_of(request.headers["X-Okno-Visitor"])
        name, data = upload
        mime = image_type(data)
        if mime is not None:
            ref = await self.store.save_file(chat_id, name, mime, data)
            return web.json_response(
                {"ref": ref, "name": name, "size": len(data), "mime": mime, "url": self.store.links.url(ref)}
            )
        if audio_type(data) is None:
            return error(415, FILE_KIND.format(limit=file_limit_text))
        try:
            # repacking is quick (pure Python over a few hundred packets), but not for the event loop
            found = await asyncio.to_thread(as_ogg, data)
        except NotARecording as exc:
            logger.info("a web chat recording was refused: %s", exc)
            return error(415, VOICE_UNREADABLE)
        seconds = int(found.seconds)
        if seconds > voice_seconds:
            return error(413, VOICE_TOO_LONG.format(limit=voice_limit_text))
        ref = await self.store.save_file(chat_id, VOICE_NAME, OGG_MIME, found.data)
        answer = {"ref": ref, "name": VOICE_NAME, "size": len(found.data), "mime": OGG_MIME}
        return web.json_response(answer | {"duration": seconds, "url": self.store.links.url(ref)})

    async def download(self, request: web.Request) -> web.StreamResponse:
        """A file for its visitor (their token in X-Okno-Visitor) or for a signed link still valid."""
        ref = request.match_info["ref"]
        stored = await self.store.file(ref)
        if stored is None:
            raise web.HTTPNotFound(text=FILE_GONE)
        token = request.headers.get("X-Okno-Visitor", "")
        owner = bool(TOKEN.match(token)) and self.chat_id_of(token) == stored.chat_id
        if owner and await self.store.ended(stored.chat_id):
            owner = False
        signed = self.store.links.valid(ref, request.query.get("e", ""), request.query.get("s", ""))
        if not owner and not signed:
            raise web.HTTPForbidden(text=FILE_FORBIDDEN, headers={"Cache-Control": "no-store"})
        mime = stored.mime_type if stored.mime_type in SERVED_INLINE else "application/octet-stream"
        headers = dict(HEADERS)
        if mime == "application/octet-stream":
            headers["Content-Disposition"] = "attachment"
        return ranged(request, bytes(stored.data), mime, headers)


async def _body(request: web.Request, limit: int, limit_text: str) -> web.Response | tuple[str, bytes]:
    """The one file part of the form, read up to the limit: its name and bytes."""
    reader = await request.multipart()
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or part.name != "file":
        return error(400, FILE_KIND.format(limit=limit_text))
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            return error(413, FILE_TOO_BIG.format(limit=limit_text))
    return (part.filename or "photo")[:200], bytes(data)


def described(stored: WebFile) -> dict[str, Any]:
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


def error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)
