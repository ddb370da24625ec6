"""The human side when things go sideways: races, strangers, blocked bots, hours, SLA, reopening."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bots.wiring import Runtime
from dialog.engine import ConversationEngine
from handoff.errors import DeskMisconfigured
from tests.e2e.conftest import Backend, Grant, running
from tests.e2e.desk_helpers import (
    ANNA,
    BORIS,
    CHAT,
    DESK,
    OTHER,
    STRANGER,
    SUPERVISOR,
    Clock,
    button,
    card,
    desk_settings,
    in_desk,
    open_ticket,
    press,
    say,
    to_citizen,
)
from tests.fakes.telegram_api import FakeTelegram


def alerts(fake: FakeTelegram) -> list[str]:
    return [
        str(c.params.get("text")) for c in fake.calls_of("answerCallbackQuery") if c.params.get("show_alert")
    ]


async def resolve(fake: FakeTelegram, runtime: Runtime, ticket: object) -> None:
    card_id = ticket.card_message_id  # type: ignore[attr-defined]
    if "Взять" in str(fake.messages[(str(DESK), card_id)].get("reply_markup")):
        await press(fake, card_id, "Взять", ANNA)
    await fake.wait_for(lambda f: "Решено" in str(f.messages[(str(DESK), card_id)].get("reply_markup")))
    asked = sum("Оцените" in t for t in to_citizen(fake))
    await press(fake, card_id, "Решено", ANNA)
    await fake.wait_for(lambda f: sum("Оцените" in t for t in to_citizen(f)) > asked)


async def test_two_operators_race_and_a_stranger_is_refused(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, backend), engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        take = button(fake, ticket.card_message_id, "Взять")
        fake.callback_update(DESK, take, STRANGER, ticket.card_message_id)
        await fake.wait_for(lambda f: any("нет прав" in a for a in alerts(f)))
        fake.callback_update(DESK, take, ANNA, ticket.card_message_id)
        fake.callback_update(DESK, take, BORIS, ticket.card_message_id)
        await fake.wait_for(lambda f: any("уже взял" in a for a in alerts(f)))
        taken = await runtime.handoff.store.ticket(ticket.id)
        # a stranger writing in the topic reaches nobody
        fake.topic_update(DESK, ticket.thread_id, STRANGER, "Чужой", "я тоже хочу ответить")
        await fake.wait_for(lambda f: any("только операторы" in c.params["text"] for c in in_desk(f)))
    assert taken is not None and taken.assignee == str(ANNA) and taken.status == "in_progress"
    assert "Оператор 9001" in alerts(fake)[-1]
    assert not any("я тоже хочу" in t for t in to_citizen(fake))


async def test_the_citizen_blocked_the_bot(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, backend), engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        fake.block_chat(CHAT)
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Добрый день!")
        await fake.wait_for(lambda f: any("заблокировал бота" in c.params["text"] for c in in_desk(f)))
        assert await runtime.repository.is_blocked("telegram", str(CHAT))


async def test_the_operators_learn_at_once_that_the_citizen_blocked_the_bot(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, backend), engine, clock=Clock()) as runtime:
        await open_ticket(fake, runtime)
        chat = {"id": CHAT, "type": "private", "first_name": "Иван"}
        person = {"id": CHAT, "is_bot": False, "first_name": "Иван"}
        fake.push_update(  # what Telegram sends the moment a citizen blocks the bot
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": person,
                    "date": 1700000000,
                    "old_chat_member": {"status": "member", "user": fake.bot_user},
                    "new_chat_member": {"status": "kicked", "user": fake.bot_user, "until_date": 0},
                }
            }
        )
        # before any operator writes: nobody has to find out from a failed reply
        await fake.wait_for(lambda f: any("заблокировал бота" in c.params["text"] for c in in_desk(f)))
        assert await runtime.repository.is_blocked("telegram", str(CHAT))


@pytest.mark.parametrize("rights", [{"can_manage_topics": False}, {"forum": False}])
async def test_the_bot_without_topic_rights_does_not_start(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine, rights: dict[str, bool]
) -> None:
    settings = desk_settings(fake, sqlite_backend)
    if "forum" in rights:
        fake.add_group(DESK, forum=False)
    else:
        fake.set_bot_member(**rights)
    with pytest.raises(DeskMisconfigured) as failure:
        async with running(settings, engine):
            pass
    error = failure.value
    assert ("Управление темами" if "can_manage_topics" in rights else "темы (форум)") in str(error)


async def test_off_hours_the_citizen_learns_when_operators_return(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    late = Clock(Clock().now.replace(hour=19, minute=30))  # 22:30 in Moscow
    async with running(desk_settings(fake, sqlite_backend), engine, clock=late) as runtime:
        await open_ticket(fake, runtime)
    assert "вернутся завтра в 8:00" in to_citizen(fake)[-1]  # the chat opens at 08:00 (seed 002)


async def test_a_ticket_nobody_takes_calls_the_supervisors(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    clock = Clock()
    settings = desk_settings(fake, sqlite_backend, ticket_take_sla_minutes=10)
    async with running(settings, engine, clock=clock) as runtime:
        ticket = await open_ticket(fake, runtime)
        assert runtime.handoff.watch is not None
        clock.now += timedelta(minutes=9)
        await runtime.handoff.watch.check()
        clock.now += timedelta(minutes=2)
        await runtime.handoff.watch.check()
        await runtime.handoff.watch.check()  # called once, not every round
        await fake.wait_for(lambda f: any("ждёт больше 10 мин" in c.params["text"] for c in in_desk(f)))
    alert = [c for c in in_desk(fake) if "ждёт больше" in c.params["text"]]
    assert len(alert) == 1 and alert[0].params["message_thread_id"] == ticket.thread_id
    mentioned = [e["user"]["id"] for e in alert[0].params["entities"] if e["type"] == "text_mention"]
    assert mentioned == [SUPERVISOR]


async def test_writing_again_soon_reopens_and_later_opens_a_linked_ticket(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    clock = Clock()
    async with running(desk_settings(fake, backend, ticket_reopen_days=3), engine, clock=clock) as runtime:
        first = await open_ticket(fake, runtime)
        await resolve(fake, runtime, first)
        clock.now += timedelta(days=1)
        await say(fake, "ничего не исправили, проблема осталась", "открыто снова")  # writing again
        await fake.wait_for(lambda f: f.topics[first.thread_id].get("is_closed") is False)
        reopened = await runtime.handoff.store.ticket(first.id)
        assert reopened is not None and reopened.status == "in_progress" and reopened.reopen_count == 1
        await resolve(fake, runtime, reopened)
        clock.now += timedelta(days=5)
        await say(fake, "опять заявление висит в обработке больше месяца", "Ваше обращение №")
        tickets = await runtime.handoff.store.tickets_of("telegram", str(CHAT))
    assert len(tickets) == 2 and tickets[0].reopened_from_id == first.id
    assert tickets[0].number != first.number


async def test_status_of_own_and_foreign_tickets(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, sqlite_backend), engine, clock=Clock()) as runtime:
        mine = await open_ticket(fake, runtime)
        own = await say(fake, f"статус обращения {mine.number}", f"Обращение № {mine.number}:")
        assert "новое" in own and "В очереди 1-е" in own
        foreign = await say(fake, f"статус обращения № {mine.number}", "не найдено", chat=OTHER)
        unknown = await say(fake, "статус обращения 10000-9", "не найдено", chat=OTHER)
    assert foreign.replace(mine.number, "N") == unknown.replace("10000-9", "N")


async def test_a_burst_is_coalesced_within_the_group_limit(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine, grants: list[Grant]
) -> None:
    settings = desk_settings(fake, sqlite_backend, desk_posts_per_minute=120)  # one post per 0.5 s
    async with running(settings, engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        start = len(in_desk(fake))
        burst = [f"сообщение номер {i}" for i in range(30)]
        for text in burst:
            fake.message_update(CHAT, text)
        await fake.wait_for(lambda f: all(any(t in c.params["text"] for c in in_desk(f)) for t in burst), 15)
    posts = in_desk(fake)[start:]
    assert len(posts) <= 6  # 30 messages, a handful of posts
    writes = [c for c in fake.calls if c.params.get("chat_id") == DESK and not c.method.startswith("get")]
    slots = [g.at for g in grants if g.key == f"desk:{DESK}"]
    assert len(slots) == len(writes)  # every call into the group was paid for with a slot
    window = 2.0  # at 2 posts a second with no burst, any two seconds hold at most 4 posts
    assert max(sum(1 for t in slots if start_at <= t < start_at + window) for start_at in slots) <= 4
    assert ticket.thread_id is not None


async def test_a_topic_deleted_by_hand_is_created_again(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, sqlite_backend), engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        del fake.topics[ticket.thread_id]  # an admin deleted the topic
        fake.message_update(CHAT, "Есть новости по моему вопросу?")
        await fake.wait_for(lambda f: len(f.calls_of("createForumTopic")) == 2)
        await fake.wait_for(lambda f: any("Есть новости" in c.params["text"] for c in in_desk(f)))
        moved = ticket
        for _ in range(200):  # the poster writes the new topic before posting in it; reads may lag a moment
            moved = await runtime.handoff.store.ticket(ticket.id) or ticket
            if moved.thread_id != ticket.thread_id:
                break
            await asyncio.sleep(0.01)
    assert moved.thread_id != ticket.thread_id, fake.summary()
    posted = [c for c in in_desk(fake) if c.params.get("message_thread_id") == moved.thread_id]
    assert posted[0].params["text"].startswith(f"Обращение № {ticket.number}")  # the card first
    assert "Есть новости" in posted[-1].params["text"]


async def test_an_unanswered_clarification_closes_the_ticket(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    clock = Clock()
    settings = desk_settings(fake, sqlite_backend, ticket_needs_info_days=2)
    async with running(settings, engine, clock=clock) as runtime:
        ticket = await open_ticket(fake, runtime)
        card_id = ticket.card_message_id
        await press(fake, card_id, "Взять", ANNA)
        await fake.wait_for(lambda f: "в работе" in f.topics[ticket.thread_id]["name"])
        await press(fake, card_id, "Требуется уточнение", ANNA)
        await fake.wait_for(lambda f: any("напишите вопрос" in c.params["text"] for c in in_desk(f)))
        fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Какой у вас регион?")
        await fake.wait_for(lambda f: "требуется уточнение" in card(f, ticket)["text"])
        clock.now += timedelta(days=3)
        assert runtime.handoff.watch is not None
        await runtime.handoff.watch.check()
        await fake.wait_for(lambda f: any("мы не получили ответа" in t for t in to_citizen(f)))
        await fake.wait_for(lambda f: "закрыто" in card(f, ticket)["text"])
        # the bot has the conversation back: a question is answered, not relayed
        await say(fake, "как восстановить пароль", "Помог ли ответ?")


async def test_a_night_in_the_queue_does_not_count_against_the_sla(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    clock = Clock(Clock().now.replace(hour=20))  # 23:00 in Moscow: operators are gone
    settings = desk_settings(fake, sqlite_backend, ticket_take_sla_minutes=10)
    async with running(settings, engine, clock=clock) as runtime:
        await open_ticket(fake, runtime)
        assert runtime.handoff.watch is not None
        clock.now = clock.now.replace(hour=5, minute=5) + timedelta(days=1)  # 8:05 next morning
        await runtime.handoff.watch.check()
        # the check writes its alerts before it returns: none waiting to go, none gone
        waiting = await runtime.handoff.store.pending_posts(str(DESK))
        assert not any("ждёт больше" in post.text for post in waiting)
        assert not any("ждёт больше" in c.params["text"] for c in in_desk(fake))
        clock.now += timedelta(minutes=10)  # 8:15: ten minutes of operators' time have passed
        await runtime.handoff.watch.check()
        await fake.wait_for(lambda f: any("ждёт больше 10 мин" in c.params["text"] for c in in_desk(f)))


async def test_a_status_answer_leaves_before_the_answers_to_later_messages(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    # the status answer is written by the handoff worker, the FAQ answers by the inbox at once:
    # handled in one batch, the citizen still gets them in the order they asked
    chats = [CHAT + i for i in range(1, 6)]
    asked = ["статус обращения 10000-9", "как оплатить госпошлину", "спасибо"]
    settings = desk_settings(fake, backend)
    async with running(settings, engine, inbox=False):
        for chat in chats:
            last = [fake.message_update(chat, text) for text in asked][-1]["update_id"]
        await fake.wait_for(
            lambda f: any(int(c.params.get("offset", 0)) > last for c in f.calls_of("getUpdates"))
        )
    async with running(settings, engine, clock=Clock()):
        await fake.wait_for(lambda f: all(len(to_citizen(f, chat)) >= len(asked) for chat in chats))
    for chat in chats:
        status, fee, thanks = to_citizen(fake, chat)[: len(asked)]
        assert "не найдено" in status and "пошлин" in fee.lower() and "помочь" in thanks, chat
