"""Helpers for the handoff tests: the operators' group in the fake Bot API and a citizen talking."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from bots.wiring import Runtime
from tests.e2e.conftest import Backend, make_settings
from tests.fakes.telegram_api import Call, FakeTelegram

CHAT = 701
OTHER = 702
DESK = -1001500
ANNA, BORIS, SUPERVISOR, STRANGER = 9001, 9002, 9009, 9666
IN_HOURS = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 11:00 in Moscow, a Thursday


class Clock:
    def __init__(self, now: datetime = IN_HOURS) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def desk_settings(fake: FakeTelegram, backend: Backend, **overrides: Any) -> Any:
    fake.add_group(DESK)
    values: dict[str, Any] = {
        "desk_chat_ids": [DESK],
        "desk_operator_ids": [ANNA, BORIS],
        "desk_supervisor_ids": [SUPERVISOR],
        "desk_posts_per_minute": 0,
        "desk_card_debounce_seconds": 0,
    }
    return make_settings(fake, backend, **(values | overrides))


def to_citizen(fake: FakeTelegram, chat: int = CHAT) -> list[str]:
    return fake.sent_texts(chat)


def in_desk(fake: FakeTelegram, method: str = "sendMessage") -> list[Call]:
    return [c for c in fake.calls_of(method) if c.params.get("chat_id") == DESK and c.status == 200]


def button(fake: FakeTelegram, message_id: int, label: str) -> str:
    markup = fake.messages[(str(DESK), message_id)].get("reply_markup") or {}
    found = [
        b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row if b["text"] == label
    ]
    assert found, f"no button {label!r} on message {message_id}"
    return str(found[0])


def card(fake: FakeTelegram, runtime_ticket: Any) -> dict[str, Any]:
    return fake.messages[(str(DESK), runtime_ticket.card_message_id)]


async def say(fake: FakeTelegram, text: str, expect: str, chat: int = CHAT) -> str:
    before = len(to_citizen(fake, chat))
    fake.message_update(chat, text)
    await fake.wait_for(lambda f: any(expect in t for t in to_citizen(f, chat)[before:]))
    return next(t for t in to_citizen(fake, chat)[before:] if expect in t)


SNILS, PHONE = "112-233-445 95", "+7 912 345-67-89"


async def open_ticket(
    fake: FakeTelegram,
    runtime: Runtime,
    chat: int = CHAT,
    snils: str = SNILS,
    phone: str = PHONE,
    trigger: str = "отказали в услуге без объяснения причин",
) -> Any:
    """A citizen hits a rule and answers the identification questions; returns the ticket.
    (Citizens of different tickets need different identifiers: the same СНИЛС or phone is the same
    citizen, whose repeated request joins the open ticket.)"""
    await say(fake, trigger, "фамилию", chat)
    await say(fake, "петров пётр петрович", "СНИЛС", chat)
    await say(fake, "112-233-445 96", "контрольное число", chat)
    await say(fake, snils, "телефон", chat)
    await say(fake, phone, "номер заявления", chat)
    await say(fake, "нет", "Ваше обращение №", chat)
    store = runtime.handoff.store
    await fake.wait_for(lambda f: bool(f.topics) and bool(in_desk(f)))
    tickets = await store.tickets_of("telegram", str(chat))
    ticket = tickets[0]
    await fake.wait_for(lambda f: any(ticket.number in t["name"] for t in f.topics.values()))
    return await with_card(runtime, ticket)


async def with_card(runtime: Runtime, ticket: Any, ceiling: float = 20.0) -> Any:
    """The ticket as stored once the poster has put its card in the group."""
    deadline = time.monotonic() + ceiling
    while True:
        fresh = await runtime.handoff.store.ticket(ticket.id)
        if fresh is not None and fresh.card_message_id:
            return fresh
        assert time.monotonic() < deadline, "the card was not posted"
        await asyncio.sleep(0.02)


async def press(fake: FakeTelegram, message_id: int, label: str, user: int, chat: int = DESK) -> None:
    """Press a card's button once the card shows it (cards are edited a moment after a change)."""

    def shown(f: FakeTelegram) -> bool:
        markup = f.messages.get((str(chat), message_id), {}).get("reply_markup") or {}
        return any(b["text"] == label for row in markup.get("inline_keyboard", []) for b in row)

    await fake.wait_for(shown)
    markup = fake.messages[(str(chat), message_id)]["reply_markup"]
    data = next(b["callback_data"] for row in markup["inline_keyboard"] for b in row if b["text"] == label)
    fake.callback_update(chat, data, user, message_id)
