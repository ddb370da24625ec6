"""A VK citizen's ticket worked by an operator in the Telegram supergroup; VK trouble spares Telegram."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.errors import PermanentFailure
from bots.settings import Settings
from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, running
from tests.e2e.desk_helpers import ANNA, DESK, Clock, desk_settings, in_desk, press
from tests.e2e.test_vk import texts
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.vk_api import FakeVk

VK_PEER = 3201


@pytest.fixture
async def vk() -> AsyncIterator[FakeVk]:
    async with FakeVk() as server:
        yield server


def both(fake: FakeTelegram, vk: FakeVk, backend: Backend) -> object:
    return desk_settings(
        fake, backend, vk_token=vk.token, vk_group_id=vk.group_id, vk_api_url=vk.url, vk_rate_per_second=0
    )


async def vk_says(vk: FakeVk, text: str, expect: str) -> None:
    before = len(texts(vk, VK_PEER))
    vk.message_new(VK_PEER, text)
    await vk.wait_for(lambda f: any(expect in t for t in texts(f, VK_PEER)[before:]))


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
        for _ in range(200):
            ticket = await runtime.handoff.store.ticket(ticket.id) or ticket
            if ticket.card_message_id:
                break
            await fake.wait_for(lambda f: True)
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
    error = failure.value.exceptions[0]
    assert isinstance(error, PermanentFailure) and "OKNO_VK_TOKEN" in str(error)
