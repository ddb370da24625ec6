"""Operators acting at once on SQLite and PostgreSQL: one ticket, one taker, one line in the trail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialog.tickets import Ticket
from handoff import texts
from handoff.actions import OperatorActions
from handoff.canned import CannedReplies
from handoff.config import HandoffConfig
from handoff.ports import DeskMessage, DeskPress
from handoff.tracking import Tracker
from storage.db import make_engine, make_sessions
from storage.models import OutboxMessage
from storage.records import TicketChange
from storage.tickets import TicketStore
from tests.fakes.desk import MemoryDesk, as_desk
from tests.integration.ticket_helpers import DESK, open_ticket

NAMES = {"1": "Анна Смирнова", "2": "Борис Петров", "3": "Посторонний"}
RACES = 20


class CountingStore(TicketStore):
    """Counts changes refused because the ticket had moved on: proof that the presses really raced."""

    stale = 0

    async def apply(self, change: TicketChange) -> Ticket | None:
        applied = await super().apply(change)
        if applied is None:
            self.stale += 1
        return applied


@dataclass
class Setup:
    store: CountingStore
    desk: MemoryDesk
    operators: OperatorActions
    sessions: async_sessionmaker[AsyncSession]
    changes: list[int]


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[Setup]:
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    store = CountingStore(sessions)
    config = HandoffConfig(desk_chats=(DESK,), operators=frozenset({"1", "2"}))
    changes: list[int] = []
    tracker = Tracker(store, config, lambda: changes.append(1))
    desk = MemoryDesk()
    operators = OperatorActions(
        store, as_desk(desk), config, tracker, CannedReplies([], {}), lambda: datetime.now(UTC)
    )
    yield Setup(store, desk, operators, sessions, changes)
    await engine.dispose()


def press(ticket: Ticket, user: str, callback: str, action: str = "take") -> DeskPress:
    return DeskPress(DESK, ticket.thread_id, user, NAMES[user], callback, action, ticket.id)


def message(ticket: Ticket, user: str, text: str) -> DeskMessage:
    return DeskMessage(DESK, ticket.thread_id, user, NAMES[user], text)


async def outbox(sessions: async_sessionmaker[AsyncSession], chat_id: str) -> list[str]:
    async with sessions() as session:
        query = select(OutboxMessage.text).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
        return [str(text) for text in (await session.scalars(query)).all()]


def snapshot(ticket: Ticket | None) -> tuple[Any, ...]:
    assert ticket is not None
    return (ticket.status, ticket.assignee, ticket.assignee_name, ticket.version, ticket.taken_at)


async def test_two_operators_pressing_take_at_once_leave_one_taker(setup: Setup) -> None:
    store, desk = setup.store, setup.desk
    for race in range(RACES):
        ticket = await open_ticket(store, f"tg:race:{race}")
        anna, boris = f"cb-{race}-1", f"cb-{race}-2"

        await asyncio.gather(
            setup.operators.handle(press(ticket, "1", anna)),
            setup.operators.handle(press(ticket, "2", boris)),
        )

        taken = await store.ticket(ticket.id)
        assert taken is not None
        assert taken.status == "in_progress"
        assert taken.assignee in ("1", "2")
        assert taken.assignee_name == NAMES[str(taken.assignee)]
        moves = [(e.before, e.after, e.actor) for e in await store.events(ticket.id)]
        assert moves == [(None, "new", "bot"), ("new", "in_progress", taken.assignee)], f"race {race}"
        told = texts.TAKEN.format(number=ticket.number, name=f" {taken.assignee_name}")
        assert await outbox(setup.sessions, ticket.chat_id) == [told]

        winner, loser = (anna, boris) if taken.assignee == "1" else (boris, anna)
        assert desk.answer_to(winner) == (texts.YOU_TOOK.format(number=ticket.number), False)
        assert desk.answer_to(loser) == (texts.TAKEN_BY.format(name=taken.assignee_name), True)
    assert store.stale >= 1  # at least once both built their change on the same version


async def test_someone_who_is_not_an_operator_cannot_take_a_ticket(setup: Setup) -> None:
    ticket = await open_ticket(setup.store, "tg:1:1")

    await setup.operators.handle(press(ticket, "3", "cb-stranger"))

    assert setup.desk.answer_to("cb-stranger") == (texts.NOT_ALLOWED, True)
    assert snapshot(await setup.store.ticket(ticket.id)) == snapshot(ticket)
    assert len(await setup.store.events(ticket.id)) == 1
    assert await outbox(setup.sessions, ticket.chat_id) == []


async def test_pressing_take_twice_answers_quietly_the_second_time(setup: Setup) -> None:
    ticket = await open_ticket(setup.store, "tg:1:1")

    await setup.operators.handle(press(ticket, "1", "cb-1"))
    await setup.operators.handle(press(ticket, "1", "cb-2"))

    assert setup.desk.answer_to("cb-2") == ("", False)
    assert len(await setup.store.events(ticket.id)) == 2
    assert len(await outbox(setup.sessions, ticket.chat_id)) == 1


@pytest.mark.parametrize("note", ["! проверить СНИЛС в базе", "/note перезвонить после обеда", "  !тихо"])
async def test_a_note_in_the_topic_stays_with_the_operators(setup: Setup, note: str) -> None:
    ticket = await open_ticket(setup.store, "tg:1:1", thread=500)
    await setup.operators.handle(press(ticket, "1", "cb-take"))
    taken = await setup.store.ticket(ticket.id)
    before = await outbox(setup.sessions, ticket.chat_id)

    await setup.operators.handle(message(ticket, "1", note))

    assert await outbox(setup.sessions, ticket.chat_id) == before
    assert snapshot(await setup.store.ticket(ticket.id)) == snapshot(taken)


async def test_an_operator_message_reaches_the_citizen_with_the_operator_name(setup: Setup) -> None:
    ticket = await open_ticket(setup.store, "tg:1:1", thread=500)
    await setup.operators.handle(press(ticket, "1", "cb-take"))
    before = await outbox(setup.sessions, ticket.chat_id)

    await setup.operators.handle(message(ticket, "1", "Здравствуйте! Проверяю ваше заявление."))

    after = await outbox(setup.sessions, ticket.chat_id)
    assert after[len(before) :] == ["Анна Смирнова: Здравствуйте! Проверяю ваше заявление."]


async def test_answering_a_new_ticket_takes_it_and_tells_the_citizen_first(setup: Setup) -> None:
    ticket = await open_ticket(setup.store, "tg:1:1", thread=500)

    await setup.operators.handle(message(ticket, "2", "Добрый день, смотрю."))

    taken = await setup.store.ticket(ticket.id)
    assert taken is not None and (taken.status, taken.assignee) == ("in_progress", "2")
    assert await outbox(setup.sessions, ticket.chat_id) == [
        texts.TAKEN.format(number=ticket.number, name=" Борис Петров"),
        "Борис Петров: Добрый день, смотрю.",
    ]


async def test_a_stranger_writing_in_the_topic_is_not_relayed(setup: Setup) -> None:
    ticket = await open_ticket(setup.store, "tg:1:1", thread=500)

    await setup.operators.handle(message(ticket, "3", "а что тут происходит?"))

    assert await outbox(setup.sessions, ticket.chat_id) == []
    assert snapshot(await setup.store.ticket(ticket.id)) == snapshot(ticket)
    posts = [p.text for p in await setup.store.pending_posts(DESK)]
    assert posts[-1].endswith(texts.NOT_OPERATOR)
