"""Operators' tools end to end: transfer to a specialist group, canned replies, notes, refused files."""

from __future__ import annotations

from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, make_settings, running
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
from tests.fakes.telegram_api import FakeTelegram

SPECIALISTS = -1001600
SPECIALIST = 9100


async def test_transfer_to_a_specialist_group_carries_the_whole_context(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    fake.add_group(SPECIALISTS)
    settings = desk_settings(
        fake, backend, desk_specialist_chat_id=SPECIALISTS, desk_specialist_ids=[SPECIALIST]
    )
    async with running(settings, engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        old_thread, card_id = ticket.thread_id, ticket.card_message_id
        await press(fake, card_id, "Взять", ANNA)
        await fake.wait_for(lambda f: "в работе" in f.topics[old_thread]["name"])
        await press(fake, card_id, "Передать специалисту", ANNA)
        await fake.wait_for(lambda f: f.topics[old_thread].get("is_closed") is True)
        await fake.wait_for(lambda f: any("старшему специалисту" in t for t in to_citizen(f)))
        store = runtime.handoff.store
        await fake.wait_for(lambda f: len(f.calls_of("createForumTopic")) == 2)
        moved = await with_card(runtime, ticket)
        assert moved is not None and moved.desk_chat_id == str(SPECIALISTS) and moved.level == 3
        card = fake.messages[(str(SPECIALISTS), moved.card_message_id)]
        assert "уровень 3 — старший специалист" in card["text"]
        assert "отказали в услуге без объяснения причин" in card["text"]  # the transcript came along
        take = next(
            b["callback_data"]
            for row in card["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == "Взять"
        )
        fake.callback_update(SPECIALISTS, take, ANNA, moved.card_message_id)  # an operator, not a specialist
        await fake.wait_for(
            lambda f: any("нет прав" in str(c.params.get("text")) for c in f.calls_of("answerCallbackQuery"))
        )
        fake.callback_update(SPECIALISTS, take, SPECIALIST, moved.card_message_id)
        await fake.wait_for(lambda f: "в работе" in f.topics[moved.thread_id]["name"])
        fake.topic_update(SPECIALISTS, moved.thread_id, SPECIALIST, "Ольга", "Запросила данные в ведомстве.")
        await fake.wait_for(lambda f: "Ольга: Запросила данные в ведомстве." in to_citizen(f))
        events = await store.events(ticket.id)
    assert [(e.before, e.after, e.level) for e in events][-3:] == [
        ("new", "in_progress", 2),
        ("in_progress", "new", 3),
        ("new", "in_progress", 3),
    ]


async def test_canned_replies_notes_and_refused_files(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, sqlite_backend), engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        card_id = ticket.card_message_id
        await press(fake, card_id, "Взять", ANNA)
        await fake.wait_for(lambda f: "в работе" in f.topics[ticket.thread_id]["name"])
        await press(fake, card_id, "Шаблоны", ANNA)
        await fake.wait_for(lambda f: any("Шаблоны ответов" in c.params["text"] for c in in_desk(f)))
        menu = next(c for c in in_desk(fake) if "Шаблоны ответов" in c.params["text"])
        menu_id = next(
            k[1] for k, m in fake.messages.items() if m.get("text", "").startswith("Шаблоны ответов")
        )
        hotline = next(
            b["callback_data"]
            for row in menu.params["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == "Горячая линия"
        )
        fake.callback_update(DESK, hotline, ANNA, menu_id)
        await fake.wait_for(
            lambda f: any("8 800 555-35-35" in t and ticket.number in t for t in to_citizen(f))
        )
        await fake.wait_for(
            lambda f: any("Шаблон «Горячая линия» отправлен" in c.params["text"] for c in in_desk(f))
        )
        # a private note stays in the topic
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "!проверить в ведомстве до обеда")
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "/note гражданин звонил вчера")
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Проверяю.")
        await fake.wait_for(lambda f: "Анна: Проверяю." in to_citizen(f))
        assert not any("проверить в ведомстве" in t or "звонил вчера" in t for t in to_citizen(fake))
        # a citizen's PDF and an oversized photo are refused with the limits; a good photo goes through
        fake.document_update(CHAT, "doc-1", 50_000, "выписка.pdf", "application/pdf")
        await fake.wait_for(
            lambda f: any("«выписка.pdf» не передан" in t and "JPEG или PNG" in t for t in to_citizen(f))
        )
        fake.photo_update(CHAT, "huge-photo", 9_000_000)
        await fake.wait_for(lambda f: any("до 2 МБ" in t for t in to_citizen(f)))
        fake.document_update(CHAT, "scan-1", 300_000, "скан.png", "image/png")
        await fake.wait_for(
            lambda f: any(c.params.get("document") == "scan-1" for c in in_desk(f, "sendDocument"))
        )
    assert not any(c.params.get("photo") == "huge-photo" for c in in_desk(fake, "sendPhoto"))


async def test_citizens_hear_when_their_place_in_the_queue_moves_a_lot(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    chats = [CHAT, CHAT + 1, CHAT + 2]
    people = [("112-233-445 95", "+79120000001"), ("112-233-446 96", "+79120000002"), ("нет", "нет")]
    async with running(desk_settings(fake, sqlite_backend), engine, clock=Clock()) as runtime:
        tickets = [
            await open_ticket(fake, runtime, chat, *person)
            for chat, person in zip(chats, people, strict=True)
        ]
        assert "3-й в очереди" in to_citizen(fake, chats[2])[-1]
        for ticket in tickets[:2]:
            await press(fake, ticket.card_message_id, "Взять", ANNA)
        await fake.wait_for(lambda f: all("в работе" in f.topics[t.thread_id]["name"] for t in tickets[:2]))
        assert runtime.handoff.watch is not None
        await runtime.handoff.watch.check()
        await fake.wait_for(lambda f: "вы 1-й в очереди" in to_citizen(f, chats[2])[-1])
        told = len(to_citizen(fake, chats[2]))
        await runtime.handoff.watch.check()  # nothing new to say
    assert len(to_citizen(fake, chats[2])) == told


async def test_without_an_operators_group_citizens_are_sent_to_the_hotline(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(make_settings(fake, sqlite_backend), engine, clock=Clock()):
        for text in ["позовите оператора", "нет", "нет", "нет", "нет", "не могу войти в личный кабинет"]:
            fake.message_update(CHAT, text)
        await fake.wait_for(lambda f: any("не подключены" in t for t in to_citizen(f)))
    assert "8 800 555-35-35" in to_citizen(fake)[-1]
    assert not fake.calls_of("createForumTopic")


async def test_tickets_are_spread_over_several_operators_groups(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    second = DESK - 1
    fake.add_group(second)
    settings = desk_settings(fake, sqlite_backend, desk_chat_ids=[DESK, second])
    async with running(settings, engine, clock=Clock()) as runtime:
        for chat in (CHAT, CHAT + 1):
            for text in ["позовите оператора", "нет", "нет", "нет", "нет", "не могу войти в личный кабинет"]:
                fake.message_update(chat, text)
        await fake.wait_for(lambda f: len(f.calls_of("createForumTopic")) == 2)
        groups = {c.params["chat_id"] for c in fake.calls_of("createForumTopic")}
        tickets = [
            t
            for chat in (CHAT, CHAT + 1)
            for t in await runtime.handoff.store.tickets_of("telegram", str(chat))
        ]
    assert groups == {DESK, second}
    assert {t.desk_chat_id for t in tickets} == {str(DESK), str(second)}


async def test_an_operators_long_answer_is_split_and_a_sticker_is_explained(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, sqlite_backend), engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        long_answer = "\n\n".join(f"Пункт {i}: " + "подробное пояснение " * 30 for i in range(12))
        assert len(long_answer) > 4096
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", long_answer)
        await fake.wait_for(lambda f: any("Пункт 11" in t for t in to_citizen(f)))
        sticker = {
            "file_id": "st-1",
            "file_unique_id": "ust1",
            "type": "regular",
            "width": 512,
            "height": 512,
        }
        fake.topic_update(
            DESK, ticket.thread_id, ANNA, "Анна", sticker=sticker | {"is_animated": False, "is_video": False}
        )
        await fake.wait_for(lambda f: any("не передаётся" in c.params["text"] for c in in_desk(f)))
    parts = [t for t in to_citizen(fake) if "Пункт" in t]
    assert len(parts) >= 2 and all(len(p) <= 4096 for p in parts)
    assert parts[0].startswith("Анна: Пункт 0") and "Пункт 11" in parts[-1]
