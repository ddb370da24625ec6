"""The widget's question «may this site show the chat?»: the same decision as the chat page's CSP
frame-ancestors, and the other ways to reach us taken only from what the deployment runs."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.web.embedding import Contact, Contacts, EmbedCheck, origin_allowed, parse_origin
from bots.web import other_ways
from bots.wiring import Runtime

PORTAL = "https://portal.example.ru"
FACTS = {"hotline_phone": "8 800 555-35-35", "telegram_bot": "@gosuslugi_bot", "vk_community": "страница"}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (PORTAL, True),
        ("https://PORTAL.example.ru:443", True),  # case and the default port do not matter
        ("https://portal.example.ru:8443", False),
        ("http://portal.example.ru", False),  # an https: source does not admit the http: page
        ("https://evil.example.ru", False),
        ("https://portal.example.ru.evil.ru", False),
        ("null", False),  # a sandboxed frame or a file
        ("", False),
        ("https://portal.example.ru/path", False),
        ("https://portal.example.ru:99999", False),
    ],
)
def test_an_origin_is_allowed_as_csp_would_allow_it(origin: str, allowed: bool) -> None:
    assert origin_allowed(origin, [PORTAL]) is allowed


def test_an_http_source_admits_the_same_site_over_https_as_csp_does() -> None:
    assert origin_allowed("https://portal.ru", ["http://portal.ru"])
    assert origin_allowed("http://portal.ru:8080", ["http://portal.ru:8080"])
    assert not origin_allowed("https://portal.ru:8443", ["http://portal.ru:8080"])
    assert parse_origin("ftp://portal.ru") is None


def test_the_other_ways_are_only_what_the_deployment_has() -> None:
    nothing = Contacts.of({})
    assert asyncio.run(nothing.all()) == []
    # the knowledge base's Telegram and VK facts are the portal's channels, not this deployment's
    assert asyncio.run(Contacts.of(FACTS).all()) == [
        Contact("Горячая линия", "8 800 555-35-35", "tel:88005553535")
    ]
    with_email = Contacts.of({"support_email": "help@example.org"}, vk_group_id=42)
    assert asyncio.run(with_email.all()) == [
        Contact("ВКонтакте", "vk.com/club42", "https://vk.com/club42"),
        Contact("Электронная почта", "help@example.org", "mailto:help@example.org"),
    ]


def test_the_telegram_bot_is_named_as_telegram_knows_it_and_left_out_when_it_cannot_be() -> None:
    async def named() -> str | None:
        return "okno_region_bot"

    async def away() -> str | None:
        raise ConnectionError("Telegram is away")

    first = asyncio.run(Contacts.of({}, telegram=named).all())
    assert first == [Contact("Telegram", "@okno_region_bot", "https://t.me/okno_region_bot")]
    assert asyncio.run(Contacts.of({}, telegram=away).all()) == []


def test_the_running_deployment_lists_its_own_bot_and_community() -> None:
    async def me() -> Any:
        return SimpleNamespace(username="okno_region_bot")

    async def max_name() -> str | None:
        return "okno_region"

    runtime = SimpleNamespace(
        telegram=SimpleNamespace(bot=SimpleNamespace(me=me)),
        vk=SimpleNamespace(group_id=7),
        max=SimpleNamespace(bot_name=max_name),
        engine=SimpleNamespace(knowledge=SimpleNamespace(facts=FACTS)),
    )
    ways = asyncio.run(other_ways(cast(Runtime, runtime)).all())
    assert [c.label for c in ways] == ["Telegram", "MAX", "ВКонтакте", "Горячая линия"]
    assert ways[1].href == "https://max.ru/okno_region"
    alone = SimpleNamespace(telegram=None, vk=None, max=None, engine=runtime.engine)
    assert [c.text for c in asyncio.run(other_ways(cast(Runtime, alone)).all())] == ["8 800 555-35-35"]


async def ask(headers: dict[str, str], query: str = "") -> tuple[dict[str, Any], dict[str, str]]:
    app = web.Application()
    app.router.add_get("/chat/embed", EmbedCheck([PORTAL], Contacts.of(FACTS)).answer)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get(f"/chat/embed{query}", headers=headers)
        assert response.status == 200
        return await response.json(), dict(response.headers)


async def test_the_answer_is_readable_from_any_site_and_depends_on_the_origin() -> None:
    answer, headers = await ask({"Origin": PORTAL})
    assert answer == {"allowed": True}
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Vary"] == "Origin"
    answer, _ = await ask({"Origin": "https://elsewhere.example.ru"})
    assert answer["allowed"] is False
    assert answer["chat"] == "/chat"
    assert answer["contacts"] == [
        {"label": "Горячая линия", "text": "8 800 555-35-35", "href": "tel:88005553535"}
    ]


async def test_an_allowed_site_framed_by_another_is_refused_as_the_browser_would() -> None:
    framed, _ = await ask({"Origin": PORTAL}, "?ancestors=https://elsewhere.example.ru")
    assert framed["allowed"] is False
    nested, _ = await ask({"Origin": PORTAL}, f"?ancestors={PORTAL}")
    assert nested["allowed"] is True
    same_site, _ = await ask({})  # the chat's own site asks without an Origin
    assert same_site["allowed"] is True
