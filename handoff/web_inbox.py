"""The web operator inbox: sign-in, the queue, a ticket with its actions, live updates, statistics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from dialog.ticket_talk import image_type
from handoff import web_pages
from handoff.accounts import (
    NAME_LIMIT,
    Role,
    Session,
    SessionSigner,
    check_password,
    may_act,
    name_problem,
    needs_name,
    sees_identification,
)
from handoff.actions import Actor, OperatorActions
from handoff.canned import CannedReplies
from handoff.errors import IllegalTransition
from handoff.texts import CLOSED_FOR_CITIZEN
from handoff.web_files import CitizenFiles, FetchFile
from handoff.web_guard import COOKIE, FLASH, FORM, SESSION, InboxGuard, back
from handoff.web_settings import InboxSettings
from storage.models import TicketRow
from storage.state import StateStore
from storage.tickets import TicketStore
from storage.web import WebStore

logger = logging.getLogger("okno.handoff.web")

STATIC = Path(__file__).parent / "static"
POLL_SECONDS = 0.5
PING_SECONDS = 15.0
LOGIN_FAILED = "Неверный логин или пароль."
LOGIN_THROTTLED = "Слишком много попыток входа. Подождите минуту и попробуйте снова."
NOT_ALLOWED = "У вас нет прав на это действие: обращение уровня специалиста."
NOTE_SAVED = "Заметка сохранена."
SENT = "Отправлено гражданину."
EMPTY_REPLY = "Напишите текст ответа или приложите файл."
BAD_FILE = "Можно приложить только фото JPEG или PNG до {limit}."

Form = dict[str, Any]
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
        tickets: TicketStore,
        store: WebStore,
        desk: OperatorActions,
        canned: CannedReplies,
        signer: SessionSigner,
        states: StateStore,
        report: Report,
        settings: InboxSettings,
        address_of: Callable[[web.Request], str] | None = None,
        fetch_file: FetchFile | None = None,
    ) -> None:
        self.tickets = tickets
        self.store = store
        self.desk = desk
        self.canned = canned
        self.signer = signer
        self.states = states  # sign-in throttling and signed-out sessions, shared by every process
        self.report = report
        self.settings = settings
        self.address_of = address_of or (lambda request: request.remote or "unknown")
        self.files = CitizenFiles(tickets, store, fetch_file)  # recordings for the page's players
        self.feed = InboxFeed(store)
        self.guard = InboxGuard(store, signer, states, settings.attachments.max_bytes)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.root)
        app.add_subapp("/inbox", self.app())

    def app(self) -> web.Application:
        """The inbox under /inbox, every page behind the guard's middleware (routes named for it)."""
        inbox = web.Application(middlewares=[self.guard.middleware])
        add = inbox.router.add_route
        add("GET", "/login", self.login_page, name="login_page")
        add("POST", "/login", self.login, name="login")
        add("POST", "/logout", self.logout, name="logout")
        add("GET", "", self.queue, name="queue")
        add("GET", "/ticket/{id:\\d+}", self.ticket, name="ticket")
        add("POST", "/ticket/{id:\\d+}/{action}", self.act, name="act")
        add("GET", "/ticket/{id:\\d+}/files/{message:\\d+}/{index:\\d+}", self.files.serve, name="file")
        add("GET", "/events", self.events, name="events")
        add("GET", "/name", self.name_page, name="name_page")
        add("POST", "/name", self.set_name, name="set_name")
        add("GET", "/stats", self.stats, name="stats")
        add("GET", "/stats.png", self.stats_chart, name="stats_chart")
        inbox.router.add_static("/static", STATIC, append_version=False, name="static")
        return inbox

    async def root(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther("/chat")

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        if await self.guard.session(request) is not None:
            raise web.HTTPSeeOther("/inbox")
        return _html(web_pages.page("Вход", web_pages.login_form()))

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        login, password = str(form.get("login", "")).strip()[:64], str(form.get("password", ""))
        throttle = await self.states.take_token(f"login:{self.address_of(request)}:{login}", 5 / 60, 5)
        if throttle > 0:
            return _html(web_pages.page("Вход", web_pages.login_form(LOGIN_THROTTLED, login)), 429)
        account = await self.store.account(login)
        # a missing login costs the same hashing time as a wrong password: no telling which it was
        stored = account.password_hash if account else _DUMMY_HASH
        if not check_password(password, stored) or account is None or account.disabled:
            logger.info("a failed sign-in to the web inbox")
            return _html(web_pages.page("Вход", web_pages.login_form(LOGIN_FAILED, login)), 401)
        raise self._signed_in_as(account.login, account.name, Role(account.role))

    def _signed_in_as(self, login: str, name: str, role: Role) -> web.HTTPSeeOther:
        _, cookie = self.signer.issue(login, name, role)
        response = web.HTTPSeeOther("/inbox")
        secure = self.settings.secure_cookies
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", secure=secure, path="/")
        return response

    async def name_page(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION]
        known = "" if needs_name(session.name, session.login) else session.name
        body = web_pages.name_form(self.signer.csrf(session), known)
        return self._page(request, session, "Ваше имя", body)

    async def set_name(self, request: web.Request) -> web.StreamResponse:
        """The name citizens and colleagues see; the session is issued again with it."""
        session, form = request[SESSION], request[FORM]
        name = " ".join(str(form.get("name", "")).split())
        problem = name_problem(name)
        if problem is not None:
            body = web_pages.name_form(self.signer.csrf(session), name[:NAME_LIMIT], problem)
            return self._page(request, session, "Ваше имя", body)
        await self.store.set_account(session.login, name=name)
        raise self._signed_in_as(session.login, name, session.role)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION]
        await self.guard.end_sessions(session.login)
        response = web.HTTPSeeOther("/inbox/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    # Pages

    async def queue(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION]
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
        return self._page(request, session, "Очередь", body)

    async def ticket(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION]
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
            self.signer.csrf(session),
        )
        if request.query.get("fragment"):
            return _html(live)
        csrf = self.signer.csrf(session)
        forms = web_pages.reply_forms(ticket, self.canned.replies.values(), allowed, csrf)
        return self._page(request, session, f"Обращение {ticket.number}", live + forms)

    def _page(self, request: web.Request, session: Session, title: str, body: str) -> web.StreamResponse:
        if request.query.get("fragment"):
            return _html(body)
        flash = unquote(request.cookies.get(FLASH, ""))[:300]
        notice = f'<p class="flash" role="status">{escape(flash)}</p>' if flash else ""
        response = _html(web_pages.page(title, notice + body, session, self.signer.csrf(session)))
        if flash:
            response.del_cookie(FLASH, path="/")
        return response

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

    async def _reply(self, ticket: TicketRow, actor: Actor, form: dict[str, Any]) -> str:
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
        session = request[SESSION]
        body, _ = await self.report()
        return self._page(request, session, "Статистика", body)

    async def stats_chart(self, request: web.Request) -> web.StreamResponse:
        _, chart = await self.report()
        return web.Response(body=chart, content_type="image/png", headers={"Cache-Control": "no-store"})


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _html(body: str, status: int = 200) -> web.Response:
    headers = {
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
    return web.Response(text=body, status=status, content_type="text/html", headers=headers)
