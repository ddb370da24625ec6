"""A citizen in Telegram: the real aiogram client against the fake Bot API server."""

from __future__ import annotations

from typing import Any

from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, make_settings, running
from tests.fakes.telegram_api import Call, FakeTelegram

CHAT = 501


def sent(fake: FakeTelegram, chat: int = CHAT) -> list[Call]:
    return [c for c in fake.calls_of("sendMessage") if c.params.get("chat_id") == chat and c.status == 200]


def keyboard(call: Call) -> list[tuple[str, str]]:
    rows: list[list[dict[str, Any]]] = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(button["text"], button["callback_data"]) for row in rows for button in row]


def data_of(call: Call, label: str) -> str:
    return next(data for text, data in keyboard(call) if text == label)


async def test_a_whole_conversation(fake: FakeTelegram, backend: Backend, engine: ConversationEngine) -> None:
    async with running(make_settings(fake, backend), engine):
        fake.message_update(CHAT, "/start")
        await fake.wait_for(lambda f: len(sent(f)) == 1)
        menu = sent(fake)[0]
        assert "Здравствуйте" in menu.params["text"]
        fake.callback_update(CHAT, data_of(menu, "Регистрация и вход"))
        await fake.wait_for(lambda f: len(sent(f)) == 2)
        topics = sent(fake)[1]
        fake.callback_update(CHAT, data_of(topics, "Восстановление пароля и доступа"))
        await fake.wait_for(lambda f: len(sent(f)) == 3)
        answer = sent(fake)[2]
        assert "парол" in answer.params["text"].lower()
        assert answer.params["text"].endswith("Помог ли ответ?")
        fake.callback_update(CHAT, data_of(answer, "Нет"))
        await fake.wait_for(lambda f: len(sent(f)) == 4)
        clarify = sent(fake)[3]
        assert "Позвать оператора" in [label for label, _ in keyboard(clarify)]
        # every pressed button was answered, so none keeps spinning
        await fake.wait_for(lambda f: len(f.calls_of("answerCallbackQuery")) == 3)


async def test_free_text_question_is_answered(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(make_settings(fake, sqlite_backend), engine):
        fake.message_update(CHAT, "не приходит смс с кодом")
        await fake.wait_for(lambda f: len(sent(f)) == 1)
        assert "код" in sent(fake)[0].params["text"].lower()
    assert fake.allowed_updates_seen[-1] == ["message", "edited_message", "callback_query", "my_chat_member"]


async def test_429_and_500_are_retried_without_losing_or_doubling(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=1)
    fake.fail_next("sendMessage", status=500, count=2)
    async with running(make_settings(fake, sqlite_backend), engine):
        fake.message_update(CHAT, "привет")
        await fake.wait_for(lambda f: len(sent(f)) == 1, timeout=15)
        fake.message_update(CHAT, "спасибо")
        await fake.wait_for(lambda f: len(sent(f)) == 2, timeout=15)
    texts = [c.params["text"] for c in sent(fake)]
    assert len(texts) == len(set(texts)) == 2
    assert len([c for c in fake.calls_of("sendMessage") if c.status != 200]) == 3


async def test_restart_mid_conversation_keeps_the_state(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = make_settings(fake, backend)
    async with running(settings, engine):
        fake.message_update(CHAT, "как восстановить пароль")
        await fake.wait_for(lambda f: len(sent(f)) == 1)
    async with running(settings, engine):
        fake.message_update(CHAT, "нет")  # the answer to «Помог ли ответ?» before the restart
        await fake.wait_for(lambda f: len(sent(f)) == 2)
    assert "не помог" in sent(fake)[1].params["text"]


async def test_an_update_stored_before_a_crash_is_answered_once_after_it(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    settings = make_settings(fake, sqlite_backend)
    update_id = fake.message_update(CHAT, "как оплатить госпошлину")["update_id"]
    async with running(settings, engine, inbox=False):
        # Telegram is told the update is received (the offset moves past it) …
        await fake.wait_for(
            lambda f: any(int(c.params.get("offset", 0)) > update_id for c in f.calls_of("getUpdates"))
        )
    assert sent(fake) == []  # … but the process died before answering
    async with running(settings, engine):
        await fake.wait_for(lambda f: len(sent(f)) == 1)
    async with running(settings, engine):
        fake.message_update(CHAT, "спасибо")
        await fake.wait_for(lambda f: len(sent(f)) == 2)
    assert "госпошлин" in sent(fake)[0].params["text"].lower()


async def test_a_redelivered_update_is_handled_once(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    update = fake.message_update(CHAT, "привет")
    fake.push_update(dict(update))
    fake._queue[-1]["update_id"] = update["update_id"]  # Telegram sends the same update again
    async with running(make_settings(fake, sqlite_backend), engine):
        fake.message_update(CHAT, "пока")
        await fake.wait_for(lambda f: len(sent(f)) == 2)
    assert len(sent(fake)) == 2


async def test_messages_of_one_chat_are_answered_in_order(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    questions = ["привет", "спасибо", "пока", "ты бот?", "как дела"]
    expected = [
        engine.classifier.smalltalk.by_id[i].reply
        for i in ("greeting", "thanks", "goodbye", "bot_identity", "how_are_you")
    ]
    async with running(make_settings(fake, backend), engine):
        for question in questions:
            fake.message_update(CHAT, question)
            fake.message_update(CHAT + 1, question)
        await fake.wait_for(lambda f: len(sent(f)) == 5 and len(sent(f, CHAT + 1)) == 5)
    assert [c.params["text"] for c in sent(fake)] == expected
    assert [c.params["text"] for c in sent(fake, CHAT + 1)] == expected
