"""The web operator inbox: the queue, a ticket with its actions, live updates, statistics; signing in is
the guard's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from dialog.ticket_talk import image_type
from handoff import web_pages
from handoff.accounts import (
    may_act,
    sees_identification,
)
from handoff.actions import Actor, OperatorActions
from handoff.canned import CannedReplies
from handoff.errors import IllegalTransition
from handoff.texts import CLOSED_FOR_CITIZEN
from handoff.web_files import CitizenFiles, FetchFile
from handoff.web_guard import CSRF, FORM, SESSION, Form, InboxGuard
from handoff.web_responses import back, html_response, page_response
from handoff.web_settings import InboxSettings
from storage.models import TicketRow
from storage.tickets import TicketStore
from storage.web import WebStore

logger = logging.getLogger("okno.handoff.web")

STATIC = Path(__file__).parent / "static"
POLL_SECONDS = 0.5
PING_SECONDS = 15.0
NOT_ALLOWED = "У вас нет прав на это действие: обращение уровня специалиста."
NOTE_SAVED = "Заметка сохранена."
SENT = "Отправлено гражданину."
EMPTY_REPLY = "Напишите текст ответа или приложите файл."
BAD_FILE = "Можно приложить только фото JPEG или PNG до {limit}."

Report = Callable[[], Awaitable[tuple[str, bytes]]]  # the statistics page's body, and its chart


class InboxFeed:
    """Tells open inbox pages that something changed, whichever process or messenger changed it:
    it watches one cheap database marker."""

    def __init__(self, store: WebStore) -> None:
        self.store = store
        self.revision: tuple[int, ...] = ()
        self._changed = asyncio.Condition()
        self.watchers = 0
        self.stopped = False

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.watchers:
                try:
                    revision = await self.store.revision()
                except Exception:  # a database hiccup must not end live updates
                    logger.exception("the inbox could not check for changes")
                    revision = self.revision
                if revision != self.revision:
                    self.revision = revision
                    async with self._changed:
                        self._changed.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        self.stopped = True  # open event streams end, so shutdown does not wait for them
        async with self._changed:
            self._changed.notify_all()

    async def wait(self, seen: tuple[int, ...], timeout: float) -> tuple[int, ...]:
        async with self._changed:
            if self.revision == seen:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
        return self.revision


class WebInbox:
    """The inbox's pages and actions; `app()` serves them as a sub-application under /inbox."""

    def __init__(
        self,
        guard: InboxGuard,  # sign-in, sign-out and the account's name; checks every other page
        tickets: TicketStore,
        store: WebStore,
        desk: OperatorActions,
        canned: CannedReplies,
        report: Report,
        settings: InboxSettings,
        fetch_file: FetchFile | None = None,
    ) -> None:
        self.guard = guard
        self.tickets = tickets
        self.store = store
        self.desk = desk
        self.canned = canned
        self.report = report
        self.settings = settings
        self.files = CitizenFiles(tickets, store, fetch_file)  # recordings for the page's players
        self.feed = InboxFeed(store)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.root)
        app.add_subapp("/inbox", self.app())

    def app(self) -> web.Application:
        """The inbox under /inbox, every page behind the guard's middleware (routes named for it)."""
        inbox = web.Application(middlewares=[self.guard.middleware])
        add = inbox.router.add_route
        add("GET", "/login", self.guard.login_page, name="login_page")
        add("POST", "/login", self.guard.login, name="login")
        add("POST", "/logout", self.guard.logout, name="logout")
        add("GET", "", self.queue, name="queue")
        add("GET", "/ticket/{id:\\d+}", self.ticket, name="ticket")
        add("POST", "/ticket/{id:\\d+}/{action}", self.act, name="act")
        add("GET", "/ticket/{id:\\d+}/files/{message:\\d+}/{index:\\d+}", self.files.serve, name="file")
        add("GET", "/events", self.events, name="events")
        add("GET", "/name", self.guard.name_page, name="name_page")
        add("POST", "/name", self.guard.set_name, name="set_name")
        add("GET", "/stats", self.stats, name="stats")
        add("GET", "/stats.png", self.stats_chart, name="stats_chart")
        inbox.router.add_static("/static", STATIC, append_version=False, name="static")
        return inbox

    async def root(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther("/chat")

    # Pages

    async def queue(self, request: web.Request) -> web.StreamResponse:
        tab = request.query.get("tab", "open")
        statuses = next((s for key, _, s in web_pages.QUEUE_TABS if key == tab), None)
        if statuses is None:
            tab, statuses = "open", web_pages.QUEUE_TABS[0][2]
        level_text = request.query.get("level", "")
        level = int(level_text) if level_text in ("2", "3") else None
        category, categories = request.query.get("category", ""), self.settings.categories
        shown = web_pages.Shown(tab, level, category if category in categories else None)
        tickets = await self.store.tickets(statuses, level, shown.category)
        counts = await self.store.counts()
        now, situations = datetime.now(UTC), self.settings.situations
        body = web_pages.queue(shown, tickets, counts, now, situations, categories)
        return page_response(request, "Очередь", body, request[SESSION], request[CSRF])

    async def ticket(self, request: web.Request) -> web.StreamResponse:
        session, csrf = request[SESSION], request[CSRF]
        ticket = await self._ticket(request)
        allowed = may_act(session.role, ticket.level)
        masked = self.settings.mask_identification and not sees_identification(session.role)
        live = web_pages.ticket_view(
            ticket,
            self.settings.situations.get(ticket.rule, ticket.rule),
            await self.store.ticket_history(ticket, 200),
            await self.tickets.events(ticket.id),
            await self.store.notes(ticket.id),
            session,
            masked,
            allowed,
            csrf,
        )
        if request.query.get("fragment"):
            return html_response(live)
        forms = web_pages.reply_forms(ticket, self.canned.replies.values(), allowed, csrf)
        return page_response(request, f"Обращение {ticket.number}", live + forms, session, csrf)

    # Actions

    async def act(self, request: web.Request) -> web.StreamResponse:
        session, form = request[SESSION], request[FORM]
        ticket = await self._ticket(request)
        action = request.match_info["action"]
        page = f"/inbox/ticket/{ticket.id}"
        actor = Actor(session.actor_id, session.name)
        if action == "note":
            text = str(form.get("text", "")).strip()[:2000]
            if text:
                await self.store.add_note(ticket.id, actor.user_id, actor.name, text)
            return back(NOTE_SAVED if text else EMPTY_REPLY, page)
        if not may_act(session.role, ticket.level):
            return back(NOT_ALLOWED, page)
        if action == "reply":
            return back(await self._reply(ticket, actor, form), page)
        if action == "template":
            action = "tpl"
        try:
            answer = await self.desk.act(actor, ticket, action, str(form.get("template", "")))
        except IllegalTransition:
            answer = None
        logger.info("ticket %s: %s by %s in the web inbox", ticket.number, action, actor.user_id)
        return back(answer or "", page)

    async def _reply(self, ticket: TicketRow, actor: Actor, form: Form) -> str:
        text = str(form.get("text", "")).strip()[:4000]
        files: tuple[dict[str, str], ...] = ()
        upload = form.get("file")
        if isinstance(upload, bytes) and upload:
            mime, policy = image_type(upload), self.settings.attachments
            if mime is None or len(upload) > policy.max_bytes:
                return BAD_FILE.format(limit=policy.limit)
            ref = await self.store.save_file(ticket.chat_id, str(form.get("file_name", "")), mime, upload)
            files = ({"kind": "photo", "ref": ref, "source": "web"},)
        if not text and not files:
            return EMPTY_REPLY
        sent = await self.desk.reply(actor, ticket, text, files)
        return SENT if sent else CLOSED_FOR_CITIZEN

    async def _ticket(self, request: web.Request) -> TicketRow:
        ticket = await self.tickets.ticket(int(request.match_info["id"]))
        if ticket is None:
            raise web.HTTPNotFound(text="Такого обращения нет.")
        return ticket

    # Live updates and statistics

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: «change» whenever tickets, messages or notes change."""
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        self.feed.watchers += 1
        try:
            seen = self.feed.revision
            while not self.feed.stopped:
                revision = await self.feed.wait(seen, PING_SECONDS)
                message = b": ping\n\n" if revision == seen else b"event: change\ndata: 1\n\n"
                seen = revision
                await response.write(message)
        except ConnectionError:
            pass
        finally:
            self.feed.watchers -= 1
        return response

    async def stats(self, request: web.Request) -> web.StreamResponse:
        body, _ = await self.report()
        return page_response(request, "Статистика", body, request[SESSION], request[CSRF])

    async def stats_chart(self, request: web.Request) -> web.StreamResponse:
        _, chart = await self.report()
        return web.Response(body=chart, content_type="image/png", headers={"Cache-Control": "no-store"})
