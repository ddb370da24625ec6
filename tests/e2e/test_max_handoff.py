"""A MAX citizen's ticket worked by an operator in the Telegram supergroup: the citizen's photo, voice
and document reach the topic, the operator's words (long ones in parts) and photo reach MAX."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, running
from tests.e2e.desk_helpers import ANNA, DESK, Clock, desk_settings, in_desk, press, with_card
from tests.e2e.test_max import texts
from tests.e2e.voice_helpers import OGG
from tests.fakes.max_api import FakeMax
from tests.fakes.max_wire import SAMPLE_JPEG
from tests.fakes.telegram_api import FakeTelegram

CITIZEN = 4301
WAIT = 20.0  # seconds: generous, for a shared machine
PDF = b"%PDF-1.4 a small statement"
PNG = b"\x89PNG\r\n\x1a\n a small scan"


@pytest.fixture
async def max_api() -> AsyncIterator[FakeMax]:
    async with FakeMax() as server:
        yield server


async def says(fake: FakeMax, text: str, expect: str, **content: Any) -> None:
    before = len(texts(fake, CITIZEN))
    fake.user_message(CITIZEN, text, **content)
    await fake.wait_for(lambda f: any(expect in t for t in texts(f, CITIZEN)[before:]), WAIT)


def posted(fake: FakeTelegram, method: str, thread_id: int | None) -> list[Any]:
    return [c for c in in_desk(fake, method) if c.params.get("message_thread_id") == thread_id]


async def test_a_max_citizens_ticket_is_answered_from_telegram_with_files_both_ways(
    fake: FakeTelegram, max_api: FakeMax, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    settings = desk_settings(fake, sqlite_backend, max_token=max_api.token, max_api_url=max_api.url)
    async with running(settings, engine, clock=Clock()) as runtime:
        await max_api.wait_for(lambda f: bool(f.calls_of("GET /updates")), WAIT)
        await says(max_api, "позовите оператора", "фамилию")
        for answer, expect in [("Смирнова Ольга", "СНИЛС"), ("нет", "телефон"), ("нет", "заявления")]:
            await says(max_api, answer, expect)
        await says(max_api, "нет", "Опишите")
        await says(max_api, "не могу подписать заявление электронной подписью", "Ваше обращение №")
        await fake.wait_for(lambda f: bool(f.topics), WAIT)
        (ticket,) = await runtime.handoff.store.tickets_of("max", str(CITIZEN))
        await fake.wait_for(lambda f: bool(in_desk(f)), WAIT)
        ticket = await with_card(runtime, ticket)
        card = fake.messages[(str(DESK), ticket.card_message_id)]["text"]
        assert "Канал: MAX" in card and "Смирнова О." in card
        await press(fake, ticket.card_message_id, "Взять", ANNA)

        # the citizen's photo, voice message and document reach the topic
        max_api.user_message(CITIZEN, "", attachments=[max_api.photo_attachment()])
        max_api.user_message(CITIZEN, "", attachments=[max_api.voice_attachment(OGG)])
        max_api.user_message(CITIZEN, "", attachments=[max_api.file_attachment(PNG, "скан.png")])
        for method in ("sendPhoto", "sendVoice", "sendDocument"):
            await fake.wait_for(lambda f, m=method: bool(posted(f, m, ticket.thread_id)), WAIT)
        # Telegram takes a document by URL only as GIF, PDF or ZIP: the scan and the voice are uploaded
        assert posted(fake, "sendVoice", ticket.thread_id)[0].files.get("voice") == OGG
        assert posted(fake, "sendDocument", ticket.thread_id)[0].files.get("document") == PNG
        # a format the contact center does not take is refused, saying which it takes
        await says(max_api, "", "JPEG или PNG", attachments=[max_api.file_attachment(PDF, "заявление.pdf")])

        # the operator's words, a long answer in parts, and a photo reach MAX
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Здравствуйте, Ольга! Сейчас проверю.")
        await max_api.wait_for(lambda f: "Анна: Здравствуйте, Ольга! Сейчас проверю." in texts(f, CITIZEN))
        long_answer = " ".join(["Порядок подписания заявления описан в разделе помощи."] * 160)
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", long_answer)
        await max_api.wait_for(
            lambda f: sum(len(t) for t in texts(f, CITIZEN) if "Порядок" in t) >= len(long_answer), WAIT
        )
        parts = [t for t in texts(max_api, CITIZEN) if "Порядок" in t]
        assert len(parts) >= 2 and all(len(p) <= 4000 for p in parts)
        fake.add_file("op-photo", SAMPLE_JPEG)
        photo = [{"file_id": "op-photo", "file_unique_id": "u-op", "width": 10, "height": 10}]
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", photo=photo)
        await max_api.wait_for(
            lambda f: any(a["type"] == "image" for s in f.sent_to(CITIZEN) for a in s["attachments"]), WAIT
        )
    (upload,) = max_api.uploads
    assert upload.content == SAMPLE_JPEG and upload.kind == "image"
    refused = [c for c in max_api.calls_of("POST /messages") if c.code == "attachment.not.ready"]
    assert refused, "the photo was sent again after MAX had processed it"
