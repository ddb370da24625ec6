"""The web operator inbox: sign-in, the queue, a ticket with its actions, live updates, statistics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import BodyPartReader, web

from dialog.ticket_talk import AttachmentPolicy, image_type
from handoff import web_pages
from handoff.accounts import (
    NAME_LIMIT,
    SESSION_SECONDS,
    Role,
    Session,
    SessionSigner,
    check_password,
    may_act,
    name_problem,
    needs_name,
    sees_identification,
)
from handoff.canned import CannedReplies
from handoff.config import HandoffConfig
from handoff.desk import Actor, OperatorDesk
from handoff.errors import IllegalTransition
from handoff.texts import CLOSED_FOR_CITIZEN
from storage.models import TicketRow
from storage.state import StateStore
from storage.tickets import TicketStore
from storage.web import WebStore

logger = logging.getLogger("okno.handoff.web")

STATIC = Path(__file__).parent / "static"
COOKIE = "okno_session"
FLASH = "okno_flash"
POLL_SECONDS = 0.5
PING_SECONDS = 15.0
LOGIN_FAILED = "Неверный логин или пароль."
LOGIN_THROTTLED = "Слишком много попыток входа. Подождите минуту и попробуйте снова."
CSRF_FAILED = "Форма устарела. Обновите страницу и повторите действие."
NOT_ALLOWED = "У вас нет прав на это действие: обращение уровня специалиста."
NOTE_SAVED = "Заметка сохранена."
SENT = "Отправлено гражданину."
EMPTY_REPLY = "Напишите текст ответа или приложите файл."
BAD_FILE = "Можно приложить только фото JPEG или PNG до {limit}."

Form = dict[str, Any]
NAMELESS_PATHS = frozenset({"/inbox/name", "/inbox/logout", "/inbox/events"})  # open before a name is given
Handler = Callable[[web.Request, Session, Form], Awaitable[web.StreamResponse]]
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
    def __init__(
        self,
        tickets: TicketStore,
        store: WebStore,
        desk: OperatorDesk,
        config: HandoffConfig,
        canned: CannedReplies,
        situations: dict[str, str],
        signer: SessionSigner,
        states: StateStore,
        report: Report,
        attachments: AttachmentPolicy,
        secure_cookies: bool = False,
        address_of: Callable[[web.Request], str] | None = None,
        categories: dict[str, str] | None = None,  # the knowledge base's: id → title, for the filter
    ) -> None:
        self.tickets = tickets
        self.store = store
        self.desk = desk
        self.config = config
        self.canned = canned
        self.situations = situations
        self.signer = signer
        self.states = states  # sign-in throttling and signed-out sessions, shared by every process
        self.report = report
        self.attachments = attachments  # an operator's photo keeps to the same limits as a citizen's
        self.secure_cookies = secure_cookies
        self.address_of = address_of or (lambda request: request.remote or "unknown")
        self.categories = categories or {}
        self.feed = InboxFeed(store)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.root)
        app.router.add_get("/inbox/login", self.login_page)
        app.router.add_post("/inbox/login", self.login)
        app.router.add_post("/inbox/logout", self._signed_in(self.logout))
        app.router.add_get("/inbox", self._signed_in(self.queue))
        app.router.add_get("/inbox/ticket/{id:\\d+}", self._signed_in(self.ticket))
        app.router.add_post("/inbox/ticket/{id:\\d+}/{action}", self._signed_in(self.act))
        app.router.add_get("/inbox/events", self._signed_in(self.events))
        app.router.add_get("/inbox/name", self._signed_in(self.name_page))
        app.router.add_post("/inbox/name", self._signed_in(self.set_name))
        app.router.add_get("/inbox/stats", self._signed_in(self.stats, Role.SUPERVISOR))
        app.router.add_get("/inbox/stats.png", self._signed_in(self.stats_chart, Role.SUPERVISOR))
        app.router.add_static("/inbox/static", STATIC, append_version=False)

    # Who is there

    def _signed_in(self, handler: Handler, role: Role | None = None) -> Callable[..., Any]:
        async def checked(request: web.Request) -> web.StreamResponse:
            session = await self._session(request)
            account = await self.store.account(session.login) if session else None
            if session is None or account is None or account.disabled:
                if request.method == "GET" and request.path != "/inbox/events":
                    raise web.HTTPSeeOther("/inbox/login")
                raise web.HTTPUnauthorized(text="Войдите снова.")
            if needs_name(account.name, account.login) and request.path not in NAMELESS_PATHS:
                raise web.HTTPSeeOther("/inbox/name")  # a name first: citizens will read it
            if role is not None and session.role is not role:
                raise web.HTTPForbidden(text="Эта страница только для руководителей.")
            form: Form = {}
            if request.method == "POST":
                form = await _form(request, self.attachments.max_bytes)
                if not self.signer.check_csrf(session, str(form.get("csrf", ""))):
                    return self._back(request, CSRF_FAILED, "/inbox")
            return await handler(request, session, form)

        return checked

    async def _session(self, request: web.Request) -> Session | None:
        """The signed session, unless its owner signed out since it was issued."""
        session = self.signer.read(request.cookies.get(COOKIE))
        if session is None:
            return None
        out = await self.states.load(f"inbox:signed-out:{session.login}")
        return None if out and session.issued <= float(out.get("at", 0)) else session

    async def root(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther("/chat")

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        if await self._session(request) is not None:
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
        response.set_cookie(
            COOKIE, cookie, httponly=True, samesite="Strict", secure=self.secure_cookies, path="/"
        )
        return response

    async def name_page(self, request: web.Request, session: Session, _form: Form) -> web.StreamResponse:
        known = "" if needs_name(session.name, session.login) else session.name
        body = web_pages.name_form(self.signer.csrf(session), known)
        return self._page(request, session, "Ваше имя", body)

    async def set_name(self, request: web.Request, session: Session, form: Form) -> web.StreamResponse:
        """The name citizens and colleagues see; the session is issued again with it."""
        name = " ".join(str(form.get("name", "")).split())
        problem = name_problem(name)
        if problem is not None:
            body = web_pages.name_form(self.signer.csrf(session), name[:NAME_LIMIT], problem)
            return self._page(request, session, "Ваше имя", body)
        await self.store.set_account(session.login, name=name)
        raise self._signed_in_as(session.login, name, session.role)

    async def logout(self, request: web.Request, session: Session, _form: Form) -> web.StreamResponse:
        # every session of this operator issued until now stops working, copies of the cookie too
        signed_out = {"at": time.time()}
        await self.states.save(f"inbox:signed-out:{session.login}", signed_out, ttl=SESSION_SECONDS)
        response = web.HTTPSeeOther("/inbox/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    # Pages

    async def queue(self, request: web.Request, session: Session, _form: Form) -> web.StreamResponse:
        tab = request.query.get("tab", "open")
        statuses = next((s for key, _, s in web_pages.QUEUE_TABS if key == tab), None)
        if statuses is None:
            tab, statuses = "open", web_pages.QUEUE_TABS[0][2]
        level_text = request.query.get("level", "")
        level = int(level_text) if level_text in ("2", "3") else None
        category = request.query.get("category", "")
        shown = web_pages.Shown(tab, level, category if category in self.categories else None)
        tickets = await self.store.tickets(statuses, level, shown.category)
        counts = await self.store.counts()
        body = web_pages.queue(shown, tickets, counts, datetime.now(UTC), self.situations, self.categories)
        return self._page(request, session, "Очередь", body)

    async def ticket(self, request: web.Request, session: Session, _form: Form) -> web.StreamResponse:
        ticket = await self._ticket(request)
        allowed = may_act(session.role, ticket.level)
        masked = self.config.mask_identification and not sees_identification(session.role)
        live = web_pages.ticket_view(
            ticket,
            self.situations.get(ticket.rule, ticket.rule),
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

    async def act(self, request: web.Request, session: Session, form: Form) -> web.StreamResponse:
        ticket = await self._ticket(request)
        action = request.match_info["action"]
        back = f"/inbox/ticket/{ticket.id}"
        actor = Actor(session.actor_id, session.name)
        if action == "note":
            text = str(form.get("text", "")).strip()[:2000]
            if text:
                await self.store.add_note(ticket.id, actor.user_id, actor.name, text)
            return self._back(request, NOTE_SAVED if text else EMPTY_REPLY, back)
        if not may_act(session.role, ticket.level):
            return self._back(request, NOT_ALLOWED, back)
        if action == "reply":
            return self._back(request, await self._reply(ticket, actor, form), back)
        if action == "template":
            action = "tpl"
        try:
            answer = await self.desk.act(actor, ticket, action, str(form.get("template", "")))
        except IllegalTransition:
            answer = None
        logger.info("ticket %s: %s by %s in the web inbox", ticket.number, action, actor.user_id)
        return self._back(request, answer or "", back)

    async def _reply(self, ticket: TicketRow, actor: Actor, form: dict[str, Any]) -> str:
        text = str(form.get("text", "")).strip()[:4000]
        files: tuple[dict[str, str], ...] = ()
        upload = form.get("file")
        if isinstance(upload, bytes) and upload:
            mime = image_type(upload)
            if mime is None or len(upload) > self.attachments.max_bytes:
                return BAD_FILE.format(limit=self.attachments.limit)
            ref = await self.store.save_file(ticket.chat_id, str(form.get("file_name", "")), mime, upload)
            files = ({"kind": "photo", "ref": ref, "source": "web"},)
        if not text and not files:
            return EMPTY_REPLY
        sent = await self.desk.reply(actor, ticket, text, files)
        return SENT if sent else CLOSED_FOR_CITIZEN

    def _back(self, request: web.Request, notice: str, to: str) -> web.StreamResponse:
        response = web.Response(status=303, headers={"Location": to})
        if notice:
            response.set_cookie(FLASH, quote(notice), max_age=30, httponly=True, samesite="Strict", path="/")
        return response

    async def _ticket(self, request: web.Request) -> TicketRow:
        ticket = await self.tickets.ticket(int(request.match_info["id"]))
        if ticket is None:
            raise web.HTTPNotFound(text="Такого обращения нет.")
        return ticket

    # Live updates and statistics

    async def events(self, request: web.Request, session: Session, _form: Form) -> web.StreamResponse:
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

    async def stats(self, request: web.Request, session: Session, _form: Form) -> web.StreamResponse:
        body, _ = await self.report()
        return self._page(request, session, "Статистика", body)

    async def stats_chart(self, request: web.Request, session: Session, _form: Form) -> web.StreamResponse:
        _, chart = await self.report()
        return web.Response(body=chart, content_type="image/png", headers={"Cache-Control": "no-store"})


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


async def _form(request: web.Request, file_limit: int) -> dict[str, Any]:
    """A posted form; a file field comes as bytes (read up to the limit) with its name beside it."""
    if not request.content_type.startswith("multipart/"):
        return dict(await request.post())
    form: dict[str, Any] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            data = bytearray()
            while chunk := await part.read_chunk(64 * 1024):
                data += chunk
                if len(data) > file_limit:
                    break
            form[part.name], form[f"{part.name}_name"] = bytes(data), part.filename
        else:
            form[part.name] = (await part.text())[:8000]
    return form


def _html(body: str, status: int = 200) -> web.Response:
    headers = {
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data: https:; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
    return web.Response(text=body, status=status, content_type="text/html", headers=headers)
