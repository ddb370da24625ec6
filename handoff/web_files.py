"""Citizens' recordings for the web inbox's players, for signed-in staff only.

A web chat recording is served by the chat; a Telegram or VK one stays in the messenger (Telegram
keeps a voice by its file id) and is fetched from there when an operator presses play."""

from __future__ import annotations

import logging
import re

from aiohttp import web

from handoff.ports import FetchFile, TicketRepository
from handoff.ranges import ranged
from storage.web import WebStore

logger = logging.getLogger("okno.handoff.web")

MEDIA_TYPE = re.compile(r"^(audio|video)/[a-z0-9.+-]{1,40}$")
FILE_GONE = "Файл не найден."
FILE_UNREACHABLE = "Не удалось получить файл из мессенджера. Попробуйте через минуту."
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


class CitizenFiles:
    def __init__(self, tickets: TicketRepository, store: WebStore, fetch_file: FetchFile | None) -> None:
        self.tickets = tickets
        self.store = store
        self.fetch_file = fetch_file

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """/inbox/ticket/{id}/files/{message}/{index}: the index-th file of one of the citizen's
        messages in the ticket's conversation; nothing else can be asked for."""
        ticket = await self.tickets.ticket(int(request.match_info["id"]))
        if ticket is None:
            raise web.HTTPNotFound(text="Такого обращения нет.")
        message, index = int(request.match_info["message"]), int(request.match_info["index"])
        found = await self.store.attachment(ticket.channel, ticket.chat_id, message, index)
        ref = str((found or {}).get("ref") or "")
        if found is None or not ref or self.fetch_file is None:
            raise web.HTTPNotFound(text=FILE_GONE)
        try:
            data = await self.fetch_file(ticket.channel, ref)
        except Exception:  # the messenger is away or refuses it: the player shows it failed
            logger.warning(
                "a citizen's file for ticket %s could not be fetched", ticket.number, exc_info=True
            )
            raise web.HTTPBadGateway(text=FILE_UNREACHABLE) from None
        if data is None:
            raise web.HTTPNotFound(text=FILE_GONE)
        mime, headers = str(found.get("mime") or ""), dict(HEADERS)
        if not MEDIA_TYPE.match(mime):  # only sound and video play on the page; anything else is saved
            mime, headers["Content-Disposition"] = "application/octet-stream", "attachment"
        return ranged(request, data, mime, headers)
