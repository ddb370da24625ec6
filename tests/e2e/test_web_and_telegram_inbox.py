"""The Telegram group and the web inbox are two views of the same tickets: an action in one shows in the
other, and taking stays race-safe across both."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from dialog.engine import ConversationEngine
from handoff.accounts import Role, hash_password
from tests.e2e.conftest import Backend, free_port, running
from tests.e2e.desk_helpers import ANNA, CHAT, DESK, Clock, desk_settings, open_ticket, press, to_citizen
from tests.e2e.web_helpers import Operator, Site, citizen, listening, operator, png, upload
from tests.e2e.web_helpers import open_ticket as open_web_ticket
from tests.fakes.telegram_api import FakeTelegram

PASSWORD = "пароль-для-веба"


def web_settings(fake: FakeTelegram, backend: Backend) -> Any:
    return desk_settings(
        fake,
        backend,
        web_inbox=True,
        web_chat=True,
        web_port=free_port(),
        web_secret="two-views",
        web_chat_rate_per_second=50,  # a test types faster than a citizen
    )


async def ticket_page(web: Operator, ticket_id: int) -> str:
    return (await web.get(f"/inbox/ticket/{ticket_id}?fragment=1"))[1]


async def page_shows(web: Operator, ticket_id: int, text: str) -> bool:
    """Whether the ticket's page comes to show `text` (a change made in Telegram arrives a moment later)."""
    for _ in range(200):
        if text in await ticket_page(web, ticket_id):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_telegram_and_the_web_inbox_work_the_same_ticket(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = web_settings(fake, backend)
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime:
        assert runtime.web_store is not None
        await runtime.web_store.add_account("boris", "Борис", Role.OPERATOR.value, hash_password(PASSWORD))
        ticket = await open_ticket(fake, runtime)
        async with operator(url, "boris", PASSWORD) as web:
            assert "новое" in await ticket_page(web, ticket.id)
            await press(fake, ticket.card_message_id, "Взять", ANNA)  # taken in Telegram...
            assert await page_shows(web, ticket.id, "в работе")  # ...shows in the web inbox
            assert 'data-action="take"' not in await ticket_page(web, ticket.id)
            # a web operator on a page that still showed «Взять» loses the race, and is told who won
            flash = await web.act(ticket, "take")
            assert "уже взял" in flash and str(ANNA) in flash  # the fake names Telegram users by id

            # a web reply reaches the Telegram citizen
            await web.act(ticket, "reply", text="Ответ из веб-операторской")
            await fake.wait_for(lambda f: "Ответ из веб-операторской" in " ".join(to_citizen(f)))
            # a note written in the Telegram topic shows on the web page
            fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "!позвонить в МФЦ")
            assert await page_shows(web, ticket.id, "позвонить в МФЦ")
            # resolved on the web: the Telegram card and topic follow
            await web.act(ticket, "resolve")
            await fake.wait_for(lambda f: f.topics[ticket.thread_id].get("is_closed") is True)
    assert any("решённое" in t for t in to_citizen(fake, CHAT))
    assert "позвонить в МФЦ" not in " ".join(to_citizen(fake, CHAT))  # a note never reaches the citizen


async def test_a_web_citizens_photo_reaches_the_operators_topic(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = web_settings(fake, backend)
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime, aiohttp.ClientSession() as http:
        await listening(http, url)
        site = Site(url, runtime, http)
        async with citizen(site) as visitor:
            await open_web_ticket(visitor, name="Сидоров Пётр Ильич")
            status, stored = await upload(site, visitor.token, png(), "screen.png")
            assert status == 200
            await visitor.send_file(stored["ref"])
            await fake.wait_for(
                lambda f: any(
                    c.params.get("chat_id") == DESK and c.status == 200 for c in f.calls_of("sendPhoto")
                )
            )
