"""The human side end to end: a citizen in Telegram, operators in a forum supergroup, the real aiogram."""

from __future__ import annotations

from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, running
from tests.e2e.desk_helpers import (
    ANNA,
    CHAT,
    DESK,
    Clock,
    card,
    desk_settings,
    in_desk,
    open_ticket,
    press,
    say,
    to_citizen,
)
from tests.fakes.telegram_api import FakeTelegram


async def test_the_whole_path_from_rule_to_rating(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    clock = Clock()
    async with running(desk_settings(fake, backend), engine, clock=clock) as runtime:
        ticket = await open_ticket(fake, runtime)
        opened = to_citizen(fake)[-1]
        assert f"№ {ticket.number}" in opened and "1-й в очереди" in opened
        topic = fake.topics[ticket.thread_id]
        assert topic["name"].startswith(f"{ticket.number} · новое · ")
        text = card(fake, ticket)["text"]
        assert "Петров П. П." in text and "***-***-445 95" in text and "отказали в услуге" in text
        assert "Гражданин: Петров П. П." in text  # the ФИО names the citizen, not the messenger's name
        labels = [b["text"] for row in card(fake, ticket)["reply_markup"]["inline_keyboard"] for b in row]
        assert labels == ["Взять", "Передать специалисту", "Шаблоны"]

        await press(fake, ticket.card_message_id, "Взять", ANNA)
        await fake.wait_for(lambda f: "в работе" in f.topics[ticket.thread_id]["name"])
        await fake.wait_for(lambda f: "Оператор 9001" in card(f, ticket)["text"])
        # the notice goes through the outbox, beside the card's edit: waited for, not assumed sent
        await fake.wait_for(lambda f: any("занимается оператор" in t for t in to_citizen(f)))

        # operator → citizen: text and a photo, with the operator's name
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Здравствуйте! Проверяю ваше заявление.")
        await fake.wait_for(lambda f: "Анна: Здравствуйте! Проверяю ваше заявление." in to_citizen(f))
        fake.add_file("op-photo", b"\xff\xd8jpeg")
        fake.topic_update(
            DESK,
            ticket.thread_id,
            ANNA,
            "Анна",
            photo=[{"file_id": "op-photo", "file_unique_id": "u1", "width": 10, "height": 10}],
        )
        await fake.wait_for(
            lambda f: any(
                c.params.get("chat_id") == CHAT and c.params.get("photo") == "op-photo"
                for c in f.calls_of("sendPhoto")
            )
        )
        # citizen → operator: text and a photo into the topic
        fake.message_update(CHAT, "Спасибо, жду ответа")
        await fake.wait_for(
            lambda f: any("Гражданин: Спасибо, жду ответа" in c.params["text"] for c in in_desk(f))
        )
        fake.photo_update(CHAT, "citizen-photo", 200_000)
        await fake.wait_for(
            lambda f: any(c.params.get("photo") == "citizen-photo" for c in in_desk(f, "sendPhoto"))
        )
        assert in_desk(fake, "sendPhoto")[-1].params["message_thread_id"] == ticket.thread_id

        # «Требуется уточнение»: the operator's next message is the question; the answer comes back
        await press(fake, ticket.card_message_id, "Требуется уточнение", ANNA)
        await fake.wait_for(lambda f: any("напишите вопрос" in c.params["text"] for c in in_desk(f)))
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Укажите дату подачи заявления")
        await fake.wait_for(
            lambda f: any("Оператору нужно уточнение" in t and "дату подачи" in t for t in to_citizen(f))
        )
        await fake.wait_for(lambda f: "требуется уточнение" in card(f, ticket)["text"])
        assert "в работе" in fake.topics[ticket.thread_id]["name"]  # not renamed back and forth
        fake.message_update(CHAT, "Подавал 1 ноября через портал")
        await fake.wait_for(lambda f: any("Подавал 1 ноября" in c.params["text"] for c in in_desk(f)))
        await fake.wait_for(lambda f: "в работе" in f.topics[ticket.thread_id]["name"])

        # «Решено»: the citizen is told, the topic closes, the bot asks for a rating
        await press(fake, ticket.card_message_id, "Решено", ANNA)
        await fake.wait_for(lambda f: any("Оцените" in t for t in to_citizen(f)))
        await fake.wait_for(lambda f: f.topics[ticket.thread_id].get("is_closed") is True)
        rating = [
            c
            for c in fake.calls_of("sendMessage")
            if c.params.get("chat_id") == CHAT and "Оцените" in c.params["text"]
        ][-1]
        five = next(
            b["callback_data"]
            for row in rating.params["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == "5"
        )
        fake.callback_update(CHAT, five)
        await say(fake, "Быстро и вежливо", "отзыв записан")
        await fake.wait_for(
            lambda f: "Оценка гражданина: 5 из 5 — Быстро и вежливо" in card(f, ticket)["text"]
        )

        # the bot has the conversation back
        await say(fake, "как восстановить пароль", "Помог ли ответ?")
        events = await runtime.handoff.store.events(ticket.id)
    trail = [(e.before, e.after) for e in events]
    assert trail == [
        (None, "new"),
        ("new", "in_progress"),
        ("in_progress", "needs_info"),
        ("needs_info", "in_progress"),
        ("in_progress", "resolved"),
        (None, "resolved"),  # the citizen's score …
        (None, "resolved"),  # … and comment, in the history
    ]
    assert events[1].actor == str(ANNA) and events[1].actor_name == "Оператор 9001"
    assert [e.actor for e in events[-2:]] == ["citizen", "citizen"]
    assert "5 из 5" in events[-2].note and "Быстро и вежливо" in events[-1].note
