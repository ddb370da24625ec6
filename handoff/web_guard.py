"""Who may use the web inbox: the sign-in, name and sign-out pages, and the middleware that lets
only a live session of an enabled, named account through to the rest.

Every route of the inbox is guarded by name: a few are open to anyone (sign-in, static files),
a few only to supervisors; the rest need a live session of an enabled account with a name. The
guard reads the posted form once, checks its CSRF token and hands the session, the form and the
token for the page's own forms to the page through typed request keys.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Handler

from handoff import web_pages
from handoff.accounts import (
    NAME_LIMIT,
    SESSION_SECONDS,
    Role,
    Session,
    SessionSigner,
    name_problem,
    needs_name,
)
from handoff.signin import PasswordPool, SignInLimits
from handoff.web_responses import back, html_response, page_response
from handoff.web_settings import InboxSettings
from storage.state import StateStore
from storage.web import WebStore

logger = logging.getLogger("okno.handoff.web")

COOKIE = "okno_session"
LOGIN_COOKIE = "okno_login"  # before a session: the sign-in form's CSRF token is bound to it
CSRF_FAILED = "Форма устарела. Обновите страницу и повторите действие."
LOGIN_FAILED = "Неверный логин или пароль."
LOGIN_THROTTLED = "Слишком много попыток входа. Подождите минуту и попробуйте снова."
LOGIN_FORGED = "Форма входа устарела или отправлена с другого сайта. Обновите страницу и войдите снова."
PUBLIC = frozenset({"login_page", "login", "static"})  # route names open without signing in
SUPERVISORS_ONLY = frozenset({"stats", "stats_chart"})
NAMELESS = frozenset({"name_page", "set_name", "logout", "events"})  # open before a name is given

Form = dict[str, Any]
AddressOf = Callable[[web.Request], str]  # the address a request came from, for sign-in throttling
SESSION: web.RequestKey[Session] = web.RequestKey("okno_inbox_session", Session)
FORM: web.RequestKey[Form] = web.RequestKey("okno_inbox_form", dict)
CSRF: web.RequestKey[str] = web.RequestKey("okno_inbox_csrf", str)  # for the page's own forms


class InboxGuard:
    def __init__(
        self,
        accounts: WebStore,
        signer: SessionSigner,
        states: StateStore,
        settings: InboxSettings,
        passwords: PasswordPool,  # checks off the event loop, a few at a time
        address_of: AddressOf | None = None,
        limits: SignInLimits | None = None,
    ) -> None:
        self.accounts = accounts
        self.signer = signer
        self.states = states  # signed-out sessions, shared by every process
        self.settings = settings
        self.passwords = passwords
        self.address_of = address_of or (lambda request: request.remote or "unknown")
        self.limits = limits or SignInLimits(states)  # sign-in budgets, in the same store

    async def session(self, request: web.Request) -> Session | None:
        """The signed session, unless its owner signed out since it was issued."""
        session = self.signer.read(request.cookies.get(COOKIE))
        if session is None:
            return None
        out = await self.states.load(_signed_out(session.login))
        return None if out and session.issued <= float(out.get("at", 0)) else session

    async def signed_in(self, request: web.Request) -> tuple[Session, str] | None:
        """The live session and its account's name as stored now: the account is enabled and the
        session of its current generation (a new password, disabling or enabling it ends the
        sessions of before)."""
        session = await self.session(request)
        account = await self.accounts.account(session.login) if session else None
        if session is None or account is None or account.disabled:
            return None
        return (session, account.name) if session.generation == account.session_generation else None

    async def end_sessions(self, login: str) -> None:
        """Every session of this account issued until now stops working, copies of the cookie too."""
        await self.states.save(_signed_out(login), {"at": time.time()}, ttl=SESSION_SECONDS)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.name
        if request.match_info.http_exception is not None or route in PUBLIC:
            return await handler(request)  # a 404 or 405 stays one; open pages need no one
        signed_in = await self.signed_in(request)
        if signed_in is None:
            if request.method == "GET" and route != "events":
                raise web.HTTPSeeOther("/inbox/login")
            raise web.HTTPUnauthorized(text="Войдите снова.")
        session, name = signed_in
        if needs_name(name, session.login) and route not in NAMELESS:
            raise web.HTTPSeeOther("/inbox/name")  # a name first: citizens will read it
        if route in SUPERVISORS_ONLY and session.role is not Role.SUPERVISOR:
            raise web.HTTPForbidden(text="Эта страница только для руководителей.")
        form: Form = {}
        if request.method == "POST":
            form = await read_form(request, self.settings.attachments.max_bytes)
            if not self.signer.check_csrf(session, str(form.get("csrf", ""))):
                return back(CSRF_FAILED, "/inbox")
        request[SESSION] = session
        request[FORM] = form
        request[CSRF] = self.signer.csrf(session)
        return await handler(request)

    # The pages of one's own session

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        if await self.signed_in(request) is not None:
            raise web.HTTPSeeOther("/inbox")
        return self._login_form(request, "", "", 200)

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        login, password = str(form.get("login", "")).strip()[:64], str(form.get("password", ""))
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not self._same_origin(request) or not self.signer.check_login_csrf(
            nonce, str(form.get("csrf", ""))
        ):
            logger.info("a sign-in without the form's token or from another site is refused")
            return self._login_form(request, LOGIN_FORGED, login, 403)
        address = self.address_of(request)
        if await self.limits.wait_before(login, address) > 0:
            return self._login_form(request, LOGIN_THROTTLED, login, 429)
        account = await self.accounts.account(login)
        # a missing login takes as long as a wrong password: no telling which it was
        right = await self.passwords.matches(password, account.password_hash if account else None)
        if not right or account is None or account.disabled:
            logger.info("a failed sign-in to the web inbox")
            held = await self.limits.failed(login, address)
            return self._login_form(
                request, LOGIN_THROTTLED if held else LOGIN_FAILED, login, 429 if held else 401
            )
        raise self._signed_in_as(account.login, account.name, Role(account.role), account.session_generation)

    def _login_form(self, request: web.Request, error: str, login: str, status: int) -> web.Response:
        """The sign-in page with its CSRF token, bound to the browser's pre-session cookie."""
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(18)
        body = web_pages.login_form(self.signer.login_csrf(nonce), error, login)
        response = html_response(web_pages.page("Вход", body), status)
        secure = self.settings.secure_cookies
        response.set_cookie(
            LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", secure=secure, path="/inbox"
        )
        return response

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        """No Origin header (older browsers, scripts) passes; one naming another site does not.
        Behind a proxy the inbox's own name may come as X-Forwarded-Host (a form posted from
        another site cannot set that header; its token is checked besides)."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        ours = {request.host.lower(), forwarded.lower()} - {""}
        return urlsplit(origin).netloc.lower() in ours

    def _signed_in_as(self, login: str, name: str, role: Role, generation: int) -> web.HTTPSeeOther:
        _, cookie = self.signer.issue(login, name, role, generation)
        response = web.HTTPSeeOther("/inbox")
        secure = self.settings.secure_cookies
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", secure=secure, path="/")
        return response

    async def name_page(self, request: web.Request) -> web.StreamResponse:
        session, csrf = request[SESSION], request[CSRF]
        known = "" if needs_name(session.name, session.login) else session.name
        return page_response(request, "Ваше имя", web_pages.name_form(csrf, known), session, csrf)

    async def set_name(self, request: web.Request) -> web.StreamResponse:
        """The name citizens and colleagues see; the session is issued again with it."""
        session, form, csrf = request[SESSION], request[FORM], request[CSRF]
        name = " ".join(str(form.get("name", "")).split())
        problem = name_problem(name)
        if problem is not None:
            body = web_pages.name_form(csrf, name[:NAME_LIMIT], problem)
            return page_response(request, "Ваше имя", body, session, csrf)
        await self.accounts.set_account(session.login, name=name)
        raise self._signed_in_as(session.login, name, session.role, session.generation)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        await self.end_sessions(request[SESSION].login)
        response = web.HTTPSeeOther("/inbox/login")
        response.del_cookie(COOKIE, path="/")
        raise response


def _signed_out(login: str) -> str:
    return f"inbox:signed-out:{login}"


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
