"""The operators' group with Telegram's limit switched on in the fake Bot API (20 calls a minute per
group, edits and topic changes counted): a ticket's whole life while other tickets keep it busy."""

from __future__ import annotations

import asyncio
import contextlib

from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, running
from tests.e2e.desk_helpers import ANNA, CHAT, DESK, Clock, card, desk_settings, in_desk, open_ticket, press
from tests.fakes.telegram_api import FakeTelegram

BUSY = [801, 802, 803, 804, 805, 806]
PATIENT = 120.0  # the group takes a post a second at best; on a busy machine far slower


async def chatter(fake: FakeTelegram, stop: asyncio.Event) -> None:
    """The other tickets' citizens keep writing, one message every five seconds among them (12 a minute)."""
    n = 0
    while not stop.is_set():
        chat = BUSY[n % len(BUSY)]
        fake.message_update(chat, f"дополнение {n}")
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5.0)


def labels(fake: FakeTelegram, ticket: object) -> list[str]:
    markup = card(fake, ticket).get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_a_ticket_goes_its_whole_way_in_a_busy_group_without_a_429(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    fake.limit_groups(20)
    settings = desk_settings(fake, backend, desk_posts_per_minute=20, desk_card_debounce_seconds=2)
    stop = asyncio.Event()
    async with running(settings, engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        for chat in BUSY:  # then other tickets: their topics, cards and citizens fill the group
            for text in ["отказали в услуге без объяснения причин", "нет", "нет", "нет", "нет"]:
                fake.message_update(chat, text)
        chatting = asyncio.create_task(chatter(fake, stop))
        try:
            await fake.wait_for(lambda f: len(f.topics) >= 3, timeout=PATIENT)
            assert await runtime.handoff.store.pending_posts(str(DESK)), "the group should be busy"

            await press(fake, ticket.card_message_id, "Взять", ANNA)
            await fake.wait_for(lambda f: "Решено" in labels(f, ticket), timeout=PATIENT)
            assert "Ведёт: Оператор 9001" in card(fake, ticket)["text"]

            fake.photo_update(CHAT, "citizen-photo", 200_000)
            await fake.wait_for(
                lambda f: any(c.params.get("photo") == "citizen-photo" for c in in_desk(f, "sendPhoto")),
                timeout=PATIENT,
            )
            fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Получили, проверяем.")
            await fake.wait_for(lambda f: "Анна: Получили, проверяем." in f.sent_texts(CHAT), timeout=PATIENT)

            await press(fake, ticket.card_message_id, "Решено", ANNA)
            closed = ticket.thread_id
            await fake.wait_for(lambda f: f.topics[closed].get("is_closed") is True, timeout=PATIENT)
            assert labels(fake, ticket) == []
            assert "решено" in fake.topics[ticket.thread_id]["name"]
        finally:
            stop.set()
            await chatting
    assert fake.too_many == 0, "the group was sent more than Telegram takes"
