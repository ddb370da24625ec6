"""Who may open the web inbox's pages: the sign-in and role middleware of its sub-application.

Every route of the inbox is guarded by name: a few are open to anyone (sign-in, static files),
a few only to supervisors; the rest need a live session of an enabled account with a name. The
guard reads the posted form once, checks its CSRF token and hands the session and the form to
the page through typed request keys.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Handler

from handoff.accounts import SESSION_SECONDS, Role, Session, SessionSigner, needs_name
from storage.state import StateStore
from storage.web import WebStore

logger = logging.getLogger("okno.handoff.web")

COOKIE = "okno_session"
FLASH = "okno_flash"
CSRF_FAILED = "Форма устарела. Обновите страницу и повторите действие."
PUBLIC = frozenset({"login_page", "login", "static"})  # route names open without signing in
SUPERVISORS_ONLY = frozenset({"stats", "stats_chart"})
NAMELESS = frozenset({"name_page", "set_name", "logout", "events"})  # open before a name is given

Form = dict[str, Any]
SESSION: web.RequestKey[Session] = web.RequestKey("okno_inbox_session", Session)
FORM: web.RequestKey[Form] = web.RequestKey("okno_inbox_form", dict)


class InboxGuard:
    def __init__(self, store: WebStore, signer: SessionSigner, states: StateStore, file_limit: int) -> None:
        self.store = store
        self.signer = signer
        self.states = states  # signed-out sessions, shared by every process
        self.file_limit = file_limit  # a posted file is read up to this size

    async def session(self, request: web.Request) -> Session | None:
        """The signed session, unless its owner signed out since it was issued."""
        session = self.signer.read(request.cookies.get(COOKIE))
        if session is None:
            return None
        out = await self.states.load(_signed_out(session.login))
        return None if out and session.issued <= float(out.get("at", 0)) else session

    async def end_sessions(self, login: str) -> None:
        """Every session of this account issued until now stops working, copies of the cookie too."""
        await self.states.save(_signed_out(login), {"at": time.time()}, ttl=SESSION_SECONDS)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.name
        if request.match_info.http_exception is not None or route in PUBLIC:
            return await handler(request)  # a 404 or 405 stays one; open pages need no one
        session = await self.session(request)
        account = await self.store.account(session.login) if session else None
        if session is None or account is None or account.disabled:
            if request.method == "GET" and route != "events":
                raise web.HTTPSeeOther("/inbox/login")
            raise web.HTTPUnauthorized(text="Войдите снова.")
        if needs_name(account.name, account.login) and route not in NAMELESS:
            raise web.HTTPSeeOther("/inbox/name")  # a name first: citizens will read it
        if route in SUPERVISORS_ONLY and session.role is not Role.SUPERVISOR:
            raise web.HTTPForbidden(text="Эта страница только для руководителей.")
        form: Form = {}
        if request.method == "POST":
            form = await read_form(request, self.file_limit)
            if not self.signer.check_csrf(session, str(form.get("csrf", ""))):
                return back(CSRF_FAILED, "/inbox")
        request[SESSION] = session
        request[FORM] = form
        return await handler(request)


def _signed_out(login: str) -> str:
    return f"inbox:signed-out:{login}"


def back(notice: str, to: str) -> web.StreamResponse:
    """To `to`, with a notice shown once there."""
    response = web.Response(status=303, headers={"Location": to})
    if notice:
        response.set_cookie(FLASH, quote(notice), max_age=30, httponly=True, samesite="Strict", path="/")
    return response


async def read_form(request: web.Request, file_limit: int) -> Form:
    """A posted form; a file field comes as bytes (read up to the limit) with its name beside it."""
    if not request.content_type.startswith("multipart/"):
        return dict(await request.post())
    form: Form = {}
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
