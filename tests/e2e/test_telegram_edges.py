"""Webhooks, long answers, blocked citizens, rate limits and updates Okno does not expect."""

from __future__ import annotations

import shutil
from itertools import pairwise
from pathlib import Path

import aiohttp
import pytest
import yaml

from dialog.classifier import build_classifier
from dialog.engine import ConversationEngine
from dialog.knowledge import DEFAULT_KNOWLEDGE_DIR, load_knowledge
from storage.db import make_engine, make_sessions
from storage.repositories import Repository
from tests.e2e.conftest import Backend, Grant, free_port, make_settings, running
from tests.e2e.test_telegram import CHAT, keyboard, sent
from tests.fakes.telegram_api import Call, FakeTelegram

SECRET = "s3cret-token_1"


async def test_webhook_takes_updates_only_with_the_right_secret(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    port = free_port()
    settings = make_settings(
        fake,
        sqlite_backend,
        telegram_mode="webhook",
        telegram_webhook_url="https://bot.example.org",
        telegram_webhook_secret=SECRET,
        web_port=port,
    )
    update = {
        "update_id": 77,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "text": "привет",
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Иван"},
        },
    }
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    async with running(settings, engine), aiohttp.ClientSession() as http:
        await fake.wait_for(lambda f: bool(f.calls_of("setWebhook")))
        hook = fake.calls_of("setWebhook")[0].params
        assert hook["url"] == "https://bot.example.org/telegram/webhook"
        assert hook["secret_token"] == SECRET
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 401
        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(url, data=b"{not json", headers=good) as response:
            assert response.status == 400
        async with http.post(url, json={"hello": 1}, headers=good) as response:
            assert response.status == 400
        async with http.post(url, json=update, headers=good) as response:
            assert response.status == 200
        async with http.post(url, json=update, headers=good) as response:  # Telegram retrying
            assert response.status == 200
        await fake.wait_for(lambda f: len(sent(f)) == 1)
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
    assert len(sent(fake)) == 1


async def test_a_long_answer_is_split_on_paragraphs(
    fake: FakeTelegram, sqlite_backend: Backend, tmp_path: Path
) -> None:
    knowledge_dir = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, knowledge_dir)
    path = knowledge_dir / "topics" / "security.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    paragraphs = [f"Абзац {i}. " + "Слово " * 150 for i in range(8)]  # ~7,000 characters
    data["topics"][0]["answer"] = "\n\n".join(paragraphs)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    engine = ConversationEngine(build_classifier(load_knowledge(knowledge_dir)))
    topic = data["topics"][0]["id"]
    async with running(make_settings(fake, sqlite_backend), engine):
        fake.callback_update(CHAT, f"b|topic:{topic}")
        await fake.wait_for(lambda f: len(sent(f)) == 2)
    parts = [c.params["text"] for c in sent(fake)]
    assert all(len(p) <= 4096 for p in parts)
    assert parts[0].startswith("Абзац 0") and parts[1].startswith("Абзац ")
    assert parts[0].endswith("Слово")  # cut between paragraphs, not inside a word
    assert "".join(parts).count("Абзац") == 8
    assert parts[1].endswith("Помог ли ответ?")
    assert keyboard(sent(fake)[1]) and not keyboard(sent(fake)[0])  # the buttons go with the last part


async def test_a_citizen_who_blocked_the_bot_is_marked_and_left_alone(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    fake.block_chat(CHAT)
    settings = make_settings(fake, sqlite_backend)
    async with running(settings, engine):
        fake.message_update(CHAT, "как восстановить пароль")  # its reply gets 403
        fake.message_update(CHAT, "спасибо")
        await fake.wait_for(lambda f: len(f.calls_of("sendMessage")) >= 1)
        fake.message_update(CHAT + 1, "привет")
        await fake.wait_for(lambda f: len(sent(f, CHAT + 1)) == 1)
    attempts = [c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == CHAT]
    assert len(attempts) == 1  # the reply to the second message was not even tried
    database = make_engine(settings.database_url)
    assert await Repository(make_sessions(database)).is_blocked("telegram", str(CHAT))
    await database.dispose()


async def test_unexpected_updates_get_a_deliberate_answer(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(make_settings(fake, sqlite_backend), engine):
        fake.sticker_update(CHAT)  # a reaction: answered like its emoji, not with the menu
        await fake.wait_for(lambda f: len(sent(f)) == 1)
        assert "другие вопросы" in sent(fake)[0].params["text"]
        fake.push_update(
            {
                "edited_message": {
                    "message_id": 9,
                    "date": 1700000000,
                    "edit_date": 1700000001,
                    "text": "исправил",
                    "chat": {"id": CHAT, "type": "private"},
                    "from": {"id": CHAT, "is_bot": False, "first_name": "Иван"},
                }
            }
        )
        await fake.wait_for(lambda f: len(sent(f)) == 2)
        assert "новым сообщением" in sent(fake)[1].params["text"]
        fake.callback_update(CHAT, "forged|data|!")
        await fake.wait_for(lambda f: len(sent(f)) == 3)
        assert "не действует" in sent(fake)[2].params["text"]
        fake.message_update(-100123, "всем привет", chat_type="supergroup")  # groups are ignored
        fake.push_update(
            {
                "channel_post": {
                    "message_id": 1,
                    "date": 1700000000,
                    "text": "пост",
                    "chat": {"id": -100777, "type": "channel", "title": "Канал"},
                }
            }
        )
        fake.push_update({"message": {"garbage": True}})  # malformed: ignored, not fatal
        fake.message_update(CHAT, "ок, а как оплатить госпошлину?")
        await fake.wait_for(lambda f: len(sent(f)) == 4)
        fake.message_update(CHAT, "x" * 20_000)
        await fake.wait_for(lambda f: len(sent(f)) >= 5)
    assert {c.params["chat_id"] for c in fake.calls_of("sendMessage")} == {CHAT}
    assert len(fake.calls_of("answerCallbackQuery")) == 1


async def test_replies_keep_within_the_per_chat_rate(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine, grants: list[Grant]
) -> None:
    settings = make_settings(fake, sqlite_backend, telegram_chat_rate_per_second=5)
    async with running(settings, engine):
        for text in ("привет", "спасибо", "пока", "привет"):
            fake.message_update(CHAT, text)
        await fake.wait_for(lambda f: len(sent(f)) == 4)
    moments = [g.at for g in grants if g.key.endswith(f":chat:{CHAT}")]
    assert len(moments) == len(sent(fake)) == 4  # every reply waited for its turn
    gaps = [b - a for a, b in pairwise(moments)]
    assert min(gaps) >= 0.2 - 1e-6  # 5 per second


def test_keyboard_helper_reads_buttons() -> None:
    call = Call(
        "sendMessage", {"reply_markup": {"inline_keyboard": [[{"text": "Да", "callback_data": "b|x"}]]}}, 0.0
    )
    assert keyboard(call) == [("Да", "b|x")]


async def test_an_html_502_page_is_waited_out_and_nothing_is_held_back(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    fake.fail_next_with_html("sendMessage", count=3)
    async with running(make_settings(fake, sqlite_backend), engine):
        fake.message_update(CHAT_502, "привет")
        fake.message_update(CHAT_502, "спасибо")
        await fake.wait_for(lambda f: len(f.sent_texts(CHAT_502)) == 2, timeout=60)
    first, second = fake.sent_texts(CHAT_502)
    assert first.startswith("Здравствуйте") and second.startswith("Рад")
    assert len([c for c in fake.calls_of("sendMessage") if c.status == 502]) == 3


CHAT_502 = 611


async def test_sigterm_lets_a_send_under_way_finish_and_records_it(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bots.outbox.DRAIN_SECONDS", 0.5)  # the drain runs out while the send hangs
    fake.hang_next("sendMessage", 3)
    async with running(make_settings(fake, sqlite_backend), engine):
        fake.message_update(CHAT_TERM, "привет")
        await fake.wait_for(
            lambda f: any(c.params.get("chat_id") == CHAT_TERM for c in f.calls_of("sendMessage"))
        )
    # the stop waited for the answer instead of cutting the request off …
    assert [c.status for c in fake.calls_of("sendMessage") if c.params.get("chat_id") == CHAT_TERM] == [200]
    # … and wrote it down, so the next start does not send it again
    database = make_engine(sqlite_backend.database_url)
    try:
        assert await Repository(make_sessions(database)).pending_outbox(0, 10) == []
    finally:
        await database.dispose()


CHAT_TERM = 612
