"""A VK citizen's ticket worked by an operator in the Telegram supergroup; VK trouble spares Telegram; a
VK callback request routed to its experts, and a repeated request from VK landing in the open ticket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.errors import PermanentFailure
from bots.cli import first_of
from bots.settings import Settings
from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, running
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
    with_card,
)
from tests.e2e.test_vk import texts
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.vk_api import FakeVk

VK_PEER = 3201


@pytest.fixture
async def vk() -> AsyncIterator[FakeVk]:
    async with FakeVk() as server:
        yield server


ACCOUNT_DESK = -1001600
WAIT = 20.0  # seconds: generous, for a shared machine


def both(fake: FakeTelegram, vk: FakeVk, backend: Backend, **overrides: object) -> object:
    return desk_settings(
        fake,
        backend,
        vk_token=vk.token,
        vk_group_id=vk.group_id,
        vk_api_url=vk.url,
        vk_rate_per_second=0,
        **overrides,
    )


async def vk_says(vk: FakeVk, text: str, expect: str) -> str:
    before = len(texts(vk, VK_PEER))
    vk.message_new(VK_PEER, text)
    await vk.wait_for(lambda f: any(expect in t for t in texts(f, VK_PEER)[before:]), WAIT)
    return next(t for t in texts(vk, VK_PEER)[before:] if expect in t)


async def test_a_vk_citizens_ticket_is_answered_from_telegram(
    fake: FakeTelegram, vk: FakeVk, sqlite_backend: Backend, engine: ConversationEngine, tmp_path: Path
) -> None:
    async with running(both(fake, vk, sqlite_backend), engine, clock=Clock()) as runtime:  # type: ignore[arg-type]
        await vk.wait_for(lambda f: bool(f.calls_of("longpoll")))
        await vk_says(vk, "позовите оператора", "фамилию")
        for answer, expect in [("Смирнова Ольга", "СНИЛС"), ("нет", "телефон"), ("нет", "заявления")]:
            await vk_says(vk, answer, expect)
        await vk_says(vk, "нет", "Опишите")
        await vk_says(vk, "не могу подписать заявление электронной подписью", "Ваше обращение №")
        await fake.wait_for(lambda f: bool(f.topics))
        (ticket,) = await runtime.handoff.store.tickets_of("vk", str(VK_PEER))
        ticket = await with_card(runtime, ticket)
        card = fake.messages[(str(DESK), ticket.card_message_id)]["text"]
        assert "Канал: ВКонтакте" in card and "Смирнова О." in card
        await press(fake, ticket.card_message_id, "Взять", ANNA)
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Здравствуйте, Ольга! Сейчас проверю.")
        await vk.wait_for(lambda f: "Анна: Здравствуйте, Ольга! Сейчас проверю." in texts(f, VK_PEER))
        vk.message_new(VK_PEER, "Спасибо, жду")
        await fake.wait_for(lambda f: any("Гражданин: Спасибо, жду" in c.params["text"] for c in in_desk(f)))
        # the citizen's photo goes to the topic
        vk.message_new(VK_PEER, "", attachments=[vk.photo_attachment()])
        await fake.wait_for(
            lambda f: any(str(c.params.get("photo", "")).startswith("http") for c in in_desk(f, "sendPhoto"))
        )
        # an operator's photo is fetched from Telegram and uploaded to VK
        fake.add_file("op-photo", b"\xff\xd8\xff\xe0 a small jpeg")
        photo = [{"file_id": "op-photo", "file_unique_id": "u-op", "width": 10, "height": 10}]
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", photo=photo)
        await vk.wait_for(
            lambda f: any(str(m.get("attachment", "")).startswith("photo") for m in f.sent(VK_PEER))
        )
        assert vk.photos  # went through photos.getMessagesUploadServer, the upload and saveMessagesPhoto


async def test_a_vk_outage_does_not_stop_telegram(
    fake: FakeTelegram, vk: FakeVk, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    vk.hang_next("groups.getLongPollServer", 30)  # VK does not answer at all
    async with running(both(fake, vk, sqlite_backend), engine, clock=Clock()):
        fake.message_update(701, "как восстановить пароль")
        await fake.wait_for(lambda f: any("Помог ли ответ?" in t for t in f.sent_texts(701)))


async def test_a_rejected_vk_token_stops_okno_with_what_to_fix(
    vk: FakeVk, sqlite_backend: Backend, engine: ConversationEngine, tmp_path: Path
) -> None:
    settings = Settings(
        vk_token="not-the-token",
        vk_group_id=vk.group_id,
        vk_api_url=vk.url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}",
        web_chat=False,
        web_inbox=False,
    )
    with pytest.raises(ExceptionGroup) as failure:
        async with running(settings, engine):
            await vk.wait_for(lambda f: bool(f.calls_of("groups.getLongPollServer")))
            await asyncio.sleep(0.2)
    error = first_of(failure.value)  # as `okno run` reports it, however deep the task groups
    assert isinstance(error, PermanentFailure) and "OKNO_VK_TOKEN" in str(error)


async def test_a_vk_callback_request_becomes_a_ticket_for_the_experts_in_its_category(
    fake: FakeTelegram, vk: FakeVk, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    fake.add_group(ACCOUNT_DESK)
    settings = both(fake, vk, sqlite_backend, desk_routes={"account": [ACCOUNT_DESK]})
    async with running(settings, engine, clock=Clock()) as runtime:  # type: ignore[arg-type]
        await vk.wait_for(lambda f: bool(f.calls_of("longpoll")), WAIT)
        await vk_says(vk, "не могу восстановить пароль от учётной записи", "Помог ли ответ?")
        await vk_says(vk, "наберите меня, пожалуйста", "На какой номер")
        await vk_says(vk, "89123456789", "Когда вам удобно")
        told = await vk_says(vk, "завтра утром", "Заявка на обратный звонок принята")
        assert "+7 912 345-67-89" in told and "«завтра утром»" in told
        await fake.wait_for(lambda f: bool(f.topics), WAIT)
        (ticket,) = await runtime.handoff.store.tickets_of("vk", str(VK_PEER))
        ticket = await with_card(runtime, ticket)
        card = fake.messages[(str(ACCOUNT_DESK), ticket.card_message_id)]["text"]
    assert ticket.desk_chat_id == str(ACCOUNT_DESK) and ticket.kind == "callback"
    assert card.startswith("📞 Обратный звонок\nПозвонить: +7 912 345-67-89\nУдобное время: завтра утром")
    assert "Канал: ВКонтакте" in card and "Направление: Регистрация и вход" in card


async def test_a_repeated_request_from_vk_lands_in_the_open_telegram_ticket(
    fake: FakeTelegram, vk: FakeVk, backend: Backend, engine: ConversationEngine
) -> None:
    async with running(both(fake, vk, backend), engine, clock=Clock()) as runtime:  # type: ignore[arg-type]
        ticket = await open_ticket(fake, runtime)  # in Telegram, with СНИЛС 112-233-445 95
        await vk.wait_for(lambda f: bool(f.calls_of("longpoll")), WAIT)
        await vk_says(vk, "соедините с оператором", "фамилию")
        await vk_says(vk, "Петров Пётр Петрович", "СНИЛС")
        await vk_says(vk, "11223344595", "телефон")  # the same СНИЛС, written without separators
        await vk_says(vk, "нет", "заявления")
        await vk_says(vk, "нет", "Опишите")
        told = await vk_says(vk, "до сих пор нет ответа про отказ", "уже в работе")
        assert f"№ {ticket.number} уже в работе: вы обратились в Telegram раньше" in told
        assert "придёт туда же — в Telegram" in told

        def in_topic(text: str) -> object:
            return lambda f: any(text in c.params["text"] for c in in_desk(f))

        await fake.wait_for(in_topic("Повторное обращение из ВКонтакте (совпал СНИЛС)"), WAIT)
        await fake.wait_for(in_topic("Гражданин (ВКонтакте): до сих пор нет ответа про отказ"), WAIT)
        # what the citizen writes in VK goes on to the ticket
        vk.message_new(VK_PEER, "Номер заявления 12345-678")
        await fake.wait_for(in_topic("Гражданин (ВКонтакте): Номер заявления 12345-678"), WAIT)
        # the operator's answer goes to the chat the ticket was opened in
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Вижу оба сообщения, проверяю.")
        await fake.wait_for(lambda f: any("проверяю" in t for t in to_citizen(f, CHAT)), WAIT)
        assert await runtime.handoff.store.tickets_of("vk", str(VK_PEER)) == []
        events = [e.note for e in await runtime.handoff.store.events(ticket.id)]
    assert "повторное обращение из ВКонтакте" in events
    assert not any("проверяю" in t for t in texts(vk, VK_PEER))
    assert len(fake.calls_of("createForumTopic")) == 1


async def test_a_vk_citizen_asking_again_in_the_same_chat_is_told_the_ticket_is_in_work(
    fake: FakeTelegram, vk: FakeVk, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(both(fake, vk, sqlite_backend), engine, clock=Clock()) as runtime:  # type: ignore[arg-type]
        await vk.wait_for(lambda f: bool(f.calls_of("longpoll")), WAIT)
        await vk_says(vk, "перезвоните мне", "На какой номер")
        await vk_says(vk, "+7 912 000 11 22", "Когда вам удобно")
        opened = await vk_says(vk, "после обеда", "Заявка на обратный звонок принята")
        again = await vk_says(vk, "ну позвоните же мне", "уже в работе")
        (ticket,) = await runtime.handoff.store.tickets_of("vk", str(VK_PEER))
    assert f"№ {ticket.number}" in opened
    assert f"Ваша заявка на обратный звонок № {ticket.number} уже в работе" in again
    assert "+7 912 000-11-22" in again
