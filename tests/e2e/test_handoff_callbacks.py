"""Callbacks and repeated requests in Telegram, with the real aiogram against the fake Bot API: a
callback request ends as a ticket in the group with the expertise, and asking again lands in the
open ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bots.wiring import Runtime
from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, running
from tests.e2e.desk_helpers import (
    ANNA,
    CHAT,
    DESK,
    OTHER,
    Clock,
    desk_settings,
    in_desk,
    open_ticket,
    press,
    say,
    to_citizen,
)
from tests.fakes.telegram_api import FakeTelegram

ACCOUNT_DESK, APPLICATIONS_DESK = -1001600, -1001700
NIGHT = datetime(2026, 11, 26, 20, 30, tzinfo=UTC)  # 23:30 in Moscow, a Thursday
WAIT = 20.0  # seconds: generous, for a shared machine


def routed_settings(fake: FakeTelegram, backend: Backend) -> Any:
    for group in (ACCOUNT_DESK, APPLICATIONS_DESK):
        fake.add_group(group)
    routes = {"account": [ACCOUNT_DESK], "applications": [APPLICATIONS_DESK]}
    return desk_settings(fake, backend, desk_routes=routes)


def posts_in(fake: FakeTelegram, group: int) -> list[str]:
    return [
        str(c.params.get("text", ""))
        for c in fake.calls_of("sendMessage")
        if c.params.get("chat_id") == group and c.status == 200
    ]


def topics_in(fake: FakeTelegram, group: int) -> list[str]:
    return [str(c.params["name"]) for c in fake.calls_of("createForumTopic") if c.params["chat_id"] == group]


async def posted_ticket(runtime: Runtime, fake: FakeTelegram, chat: int = CHAT) -> Any:
    """The chat's one ticket, once its topic and card are in its group."""
    store = runtime.handoff.store
    for _ in range(1000):
        tickets = await store.tickets_of("telegram", str(chat))
        if tickets and tickets[0].card_message_id:
            return tickets[0]
        await fake.wait_for(lambda f: True)
    raise AssertionError("the ticket's card was not posted")


async def test_a_callback_request_becomes_a_ticket_for_the_experts_in_its_category(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    async with running(routed_settings(fake, backend), engine, clock=Clock()) as runtime:
        await say(fake, "не приходит смс с кодом", "Помог ли ответ?")
        asked = await say(fake, "перезвоните мне, пожалуйста", "На какой номер")
        assert "перезвонит, когда освободится специалист" in asked
        await say(fake, "нет", "Без номера телефона")
        await say(fake, "8 912 345-67-89", "Когда вам удобно")
        told = await say(fake, "после 18", "Заявка на обратный звонок принята")
        assert "позвонит на номер +7 912 345-67-89" in told and "1-й в очереди" in told
        assert "«после 18»" in told

        ticket = await posted_ticket(runtime, fake)
        assert f"№ {ticket.number}" in told
        assert (ticket.kind, ticket.desk_chat_id) == ("callback", str(ACCOUNT_DESK))
        assert topics_in(fake, ACCOUNT_DESK) == [f"{ticket.number} · новое · 📞 Обратный звонок"]
        assert not topics_in(fake, DESK) and not topics_in(fake, APPLICATIONS_DESK)
        card = fake.messages[(str(ACCOUNT_DESK), ticket.card_message_id)]["text"]
        assert card.startswith("📞 Обратный звонок\nПозвонить: +7 912 345-67-89\nУдобное время: после 18")
        assert "Направление: Регистрация и вход" in card

        # the operator takes it, calls, and marks it solved
        await press(fake, ticket.card_message_id, "Взять", ANNA, chat=ACCOUNT_DESK)
        await press(fake, ticket.card_message_id, "Решено", ANNA, chat=ACCOUNT_DESK)
        await fake.wait_for(lambda f: any("Оцените" in t for t in to_citizen(f)), WAIT)
        events = await runtime.handoff.store.events(ticket.id)
    assert [e.after for e in events] == ["new", "in_progress", "resolved"]


async def test_an_ordinary_ticket_is_routed_too_and_one_with_no_topic_goes_to_the_default_group(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(routed_settings(fake, sqlite_backend), engine, clock=Clock()) as runtime:
        await say(fake, "как узнать статус заявления", "Помог ли ответ?")
        await say(fake, "позовите оператора", "фамилию")
        for answer in ("нет", "нет", "нет"):
            fake.message_update(CHAT, answer)
        await say(fake, "нет", "Ваше обращение №")
        for text in ["позовите оператора", "нет", "нет", "нет", "нет", "не могу найти нужную кнопку"]:
            fake.message_update(OTHER, text)
        await fake.wait_for(lambda f: any("Ваше обращение №" in t for t in to_citizen(f, OTHER)), WAIT)
        routed = await posted_ticket(runtime, fake)
        general = await posted_ticket(runtime, fake, OTHER)
    assert (routed.desk_chat_id, routed.category_title) == (str(APPLICATIONS_DESK), "Заявления и статусы")
    assert (general.desk_chat_id, general.category) == (str(DESK), None)
    card = fake.messages[(str(APPLICATIONS_DESK), routed.card_message_id)]["text"]
    assert "Направление: Заявления и статусы" in card and "Обратный звонок" not in card


async def test_off_hours_the_citizen_hears_when_operators_come_back_to_call(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, sqlite_backend), engine, clock=Clock(NIGHT)):
        await say(fake, "можно обратный звонок?", "На какой номер")
        await say(fake, "+79123456789", "Когда вам удобно")
        told = await say(fake, "пропустить", "Заявка на обратный звонок")
    assert "операторы не работают — они вернутся завтра в 8:00" in told and "+7 912 345-67-89" in told
    assert "Удобное" not in told  # skipped


async def test_asking_again_in_the_same_chat_lands_in_the_open_ticket(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, backend), engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        again = await say(fake, "позовите оператора!", "уже в работе")
        assert f"№ {ticket.number} уже в работе" in again
        await fake.wait_for(
            lambda f: any("Гражданин: позовите оператора!" in c.params["text"] for c in in_desk(f)), WAIT
        )
        fake.message_update(CHAT, "/operator")
        await fake.wait_for(lambda f: sum("уже в работе" in t for t in to_citizen(f)) == 2, WAIT)
        await say(fake, "лучше перезвоните мне", "уже в работе")
        await fake.wait_for(
            lambda f: any("Гражданин просит обратный звонок" in c.params["text"] for c in in_desk(f)), WAIT
        )
        assert len(await runtime.handoff.store.tickets_of("telegram", str(CHAT))) == 1
    topic = " ".join(str(c.params["text"]) for c in in_desk(fake))
    assert topic.count("снова просит оператора в этом же чате") == 3
    assert len(fake.calls_of("createForumTopic")) == 1
