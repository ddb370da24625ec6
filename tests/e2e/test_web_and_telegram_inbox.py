"""The Telegram group and the web inbox are two views of the same tickets: an action in one shows in the
other, and taking stays race-safe across both."""

from __future__ import annotations

import asyncio
import html
import itertools
from typing import Any

import aiohttp

from dialog.engine import ConversationEngine
from handoff import texts
from handoff.accounts import Role, hash_password
from handoff.web_tickets import SENT
from tests.e2e.conftest import Backend, free_port, running
from tests.e2e.desk_helpers import (
    ANNA,
    CHAT,
    DESK,
    Clock,
    desk_settings,
    in_desk,
    open_ticket,
    press,
    to_citizen,
)
from tests.e2e.web_helpers import Citizen, Operator, Site, card_of, citizen, listening, operator, png, upload
from tests.e2e.web_helpers import open_ticket as open_web_ticket
from tests.fakes.telegram_api import FakeTelegram

PASSWORD = "пароль-для-веба"
ACCOUNT_DESK = -1001600
_said = itertools.count(1)


def web_settings(fake: FakeTelegram, backend: Backend, **overrides: Any) -> Any:
    return desk_settings(
        fake,
        backend,
        web_inbox=True,
        web_chat=True,
        web_port=free_port(),
        web_secret="two-views",
        web_chat_rate_per_second=50,  # a test types faster than a citizen
        **overrides,
    )


async def web_says(visitor: Citizen, text: str, expect: str) -> str:
    """The visitor writes; the bot's (or the handoff side's) reply containing `expect`."""
    after = len(visitor.frames)
    await visitor.deliver({"type": "message", "id": f"w{next(_said)}", "text": text})
    _, frame = await visitor.reply(after, expect)
    return str(frame["text"])


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

            # the ticket is Anna's: the web operator replies only after taking it over
            held = await web.act(ticket, "reply", text="Ответ из веб-операторской")
            assert "Обращением занимается" in held and str(ANNA) in held
            assert await web.act(ticket, "takeover") == texts.YOU_TOOK_OVER.format(number=ticket.number)
            # a web reply reaches the Telegram citizen
            assert await web.act(ticket, "reply", text="Ответ из веб-операторской") == SENT
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


async def test_a_web_callback_request_reaches_the_experts_group_and_the_web_inbox(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    fake.add_group(ACCOUNT_DESK)
    settings = web_settings(fake, backend, desk_routes={"account": [ACCOUNT_DESK]})
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime, aiohttp.ClientSession() as http:
        assert runtime.web_store is not None
        await runtime.web_store.add_account("boris", "Борис", Role.OPERATOR.value, hash_password(PASSWORD))
        await listening(http, url)
        async with citizen(Site(url, runtime, http)) as visitor:
            await web_says(visitor, "как сменить номер телефона в профиле", "Помог ли ответ?")
            await web_says(visitor, "можно обратный звонок?", "На какой номер")
            await web_says(visitor, "+7 912 345 67 89", "Когда вам удобно")
            told = await web_says(visitor, "после 18", "Заявка на обратный звонок принята")
            assert "+7 912 345-67-89" in told and "«после 18»" in told
            again = await web_says(visitor, "позовите оператора", "уже в работе")
            (ticket,) = await runtime.handoff.store.tickets_of("web", visitor.chat_id)
            assert f"Ваша заявка на обратный звонок № {ticket.number} уже в работе" in again
        await fake.wait_for(
            lambda f: any(c.params["chat_id"] == ACCOUNT_DESK for c in f.calls_of("createForumTopic")), 20
        )
        async with operator(url, "boris", PASSWORD) as web:
            queue = html.unescape((await web.get("/inbox"))[1])
            page = await ticket_page(web, ticket.id)
            # the queue of one expertise
            own = html.unescape((await web.get("/inbox?tab=open&category=account"))[1])
            other = html.unescape((await web.get("/inbox?tab=open&category=services"))[1])
    assert ticket.number in own and ticket.number not in other and "все направления" in own
    assert ticket.desk_chat_id == str(ACCOUNT_DESK)
    assert "📞 Обратный звонок: +7 912 345-67-89, удобное время — после 18" in queue
    assert "Регистрация и вход" in queue
    card = card_of(page)
    for shown in ("📞 Обратный звонок", "Позвонить", "+7 912 345-67-89", "Удобное время", "после 18"):
        assert shown in card
    name = next(c.params["name"] for c in fake.calls_of("createForumTopic"))
    assert name == f"{ticket.number} · новое · 📞 Обратный звонок"


async def test_a_repeated_request_from_the_web_chat_lands_in_the_open_telegram_ticket(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = web_settings(fake, backend)
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime, aiohttp.ClientSession() as http:
        assert runtime.web_store is not None
        await runtime.web_store.add_account("boris", "Борис", Role.OPERATOR.value, hash_password(PASSWORD))
        ticket = await open_ticket(fake, runtime)  # in Telegram, with the phone +7 912 345-67-89
        await listening(http, url)
        async with citizen(Site(url, runtime, http)) as visitor:
            await web_says(visitor, "позовите оператора", "фамилию")
            await web_says(visitor, "нет", "СНИЛС")
            await web_says(visitor, "нет", "телефон")
            await web_says(visitor, "8 912 345-67-89", "заявления")  # the same phone, written otherwise
            await web_says(visitor, "нет", "Опишите")
            told = await web_says(visitor, "пишу с компьютера, в телеграме неудобно", "уже в работе")
            assert f"№ {ticket.number} уже в работе: вы обратились в Telegram раньше" in told
            await web_says(visitor, "позовите оператора", "уже в работе")  # again, in the same web chat
            assert await runtime.handoff.store.tickets_of("web", visitor.chat_id) == []
        await fake.wait_for(
            lambda f: any("Гражданин (веб-чат): пишу с компьютера" in c.params["text"] for c in in_desk(f)),
            20,
        )
        async with operator(url, "boris", PASSWORD) as web:
            page = html.unescape(await ticket_page(web, ticket.id))
    assert "Гражданин (веб-чат)" in page and "пишу с компьютера, в телеграме неудобно" in page
    assert "повторное обращение из веб-чата" in page  # in the ticket's history
    assert len(fake.calls_of("createForumTopic")) == 1
