"""May a site show the chat in the widget? The widget asks before it frames the chat page, so a site
that is not among OKNO_WEB_ALLOWED_ORIGINS shows a message with the other ways to reach us instead
of a frame the browser refuses (the page's CSP frame-ancestors stays the protection itself)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from aiohttp import web

logger = logging.getLogger("okno.adapters.web.embedding")

ASK_NAME_SECONDS = 3.0  # a bot's name is asked once; a slow answer leaves it out
MAX_ANCESTORS = 8  # the embedding page's own ancestors (location.ancestorOrigins), outermost last
Origin = tuple[str, str, int]  # scheme, host, port
Username = Callable[[], Awaitable[str | None]]  # a bot's name (Telegram's, MAX's), if it can be learned now


@dataclass(frozen=True, slots=True)
class Contact:
    label: str  # «Горячая линия»
    text: str  # «8 800 555-35-35»
    href: str  # «tel:88005553535»


def parse_origin(text: str) -> Origin | None:
    """«https://Portal.ru:443» as («https», «portal.ru», 443); None for anything not an origin."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host or parts.path not in ("", "/") or parts.query:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


def origin_allowed(origin: str, allowed: Iterable[str]) -> bool:
    """The decision CSP's frame-ancestors makes for the same list: an exact match, or an http:
    source that also admits the https: page of the same host (default ports counted)."""
    page = parse_origin(origin)
    if page is None:
        return False
    for source in filter(None, map(parse_origin, allowed)):
        if source == page:
            return True
        upgraded = source[0] == "http" and page[0] == "https" and source[1] == page[1]
        if upgraded and (source[2] == page[2] or (source[2], page[2]) == (80, 443)):
            return True
    return False


class Contacts:
    """The other ways to reach the contact center: only what this deployment runs or was given
    (its Telegram bot, its VK community, the knowledge base's hotline and e-mail)."""

    def __init__(
        self, fixed: Sequence[Contact] = (), telegram: Username | None = None, max_bot: Username | None = None
    ) -> None:
        self.fixed = tuple(fixed)
        self.telegram = telegram
        self.max_bot = max_bot

    @classmethod
    def of(
        cls,
        facts: Mapping[str, str],
        vk_group_id: int | None = None,
        telegram: Username | None = None,
        max_bot: Username | None = None,
    ) -> Contacts:
        fixed = []
        if vk_group_id:
            fixed.append(
                Contact("ВКонтакте", f"vk.com/club{vk_group_id}", f"https://vk.com/club{vk_group_id}")
            )
        if phone := facts.get("hotline_phone"):
            fixed.append(Contact("Горячая линия", phone, "tel:" + re.sub(r"[^\d+]", "", phone)))
        if email := facts.get("support_email"):
            fixed.append(Contact("Электронная почта", email, f"mailto:{email}"))
        return cls(fixed, telegram, max_bot)

    async def all(self) -> list[Contact]:
        found = []
        for label, ask, shown, link in (
            ("Telegram", self.telegram, "@{}", "https://t.me/{}"),
            ("MAX", self.max_bot, "{}", "https://max.ru/{}"),
        ):
            name = await _asked(label, ask) if ask is not None else None
            if name:
                found.append(Contact(label, shown.format(name), link.format(name)))
        return found + list(self.fixed)


async def _asked(label: str, ask: Username) -> str | None:
    try:
        return await asyncio.wait_for(ask(), ASK_NAME_SECONDS)
    except Exception:  # the messenger away: the other ways are still worth showing
        logger.warning("the %s bot's name is unknown; the widget leaves it out", label, exc_info=True)
        return None


class EmbedCheck:
    """GET /chat/embed: is the page asking (its Origin, and the pages framing it) allowed to frame
    the chat? A public answer, readable from any site (CORS)."""

    def __init__(self, allowed: Sequence[str], contacts: Contacts) -> None:
        self.allowed = tuple(allowed)
        self.contacts = contacts

    async def answer(self, request: web.Request) -> web.Response:
        asking = [request.headers.get("Origin", "")] if "Origin" in request.headers else []
        ancestors = request.query.get("ancestors", "")
        asking += [a for a in ancestors.split(" ") if a][:MAX_ANCESTORS]
        answer: dict[str, object] = {"allowed": all(origin_allowed(o, self.allowed) for o in asking)}
        if not answer["allowed"]:
            logger.info("the widget was opened where the chat may not be framed: %s", " ".join(asking))
            answer |= {"chat": "/chat", "contacts": [asdict(c) for c in await self.contacts.all()]}
        headers = {
            "Access-Control-Allow-Origin": "*",
            "Vary": "Origin",
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        return web.json_response(answer, headers=headers)
