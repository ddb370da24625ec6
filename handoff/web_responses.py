"""How the web inbox answers: HTML with its security headers, a page with the notice left for it,
and a redirect that leaves one."""

from __future__ import annotations

from html import escape
from urllib.parse import quote, unquote

from aiohttp import web

from handoff import web_pages
from handoff.accounts import Session

FLASH = "okno_flash"
HEADERS = {
    # the inbox shows no image from elsewhere; forms post only to itself; no <base> may redirect links
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def html_response(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", headers=HEADERS)


def page_response(request: web.Request, title: str, body: str, session: Session, csrf: str) -> web.Response:
    """A signed-in page with the notice left by `back` shown once; only the body for `?fragment=1`,
    which the page's script asks for when something changed."""
    if request.query.get("fragment"):
        return html_response(body)
    flash = unquote(request.cookies.get(FLASH, ""))[:300]
    notice = f'<p class="flash" role="status">{escape(flash)}</p>' if flash else ""
    response = html_response(web_pages.page(title, notice + body, session, csrf))
    if flash:
        response.del_cookie(FLASH, path="/")
    return response


def back(notice: str, to: str) -> web.StreamResponse:
    """To `to`, with a notice shown once there."""
    response = web.Response(status=303, headers={"Location": to})
    if notice:
        response.set_cookie(FLASH, quote(notice), max_age=30, httponly=True, samesite="Strict", path="/")
    return response
