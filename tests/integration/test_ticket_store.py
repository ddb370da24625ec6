"""TicketStore on SQLite and PostgreSQL: opening once, numbering, optimistic changes, the queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialog.tickets import Status, Ticket
from storage.models import Conversation, DeskPost, InboxUpdate, Message, OutboxMessage, TicketEvent, TicketRow
from storage.records import CitizenMessage, EventRecord, NewTicket, NewUpdate, PostRecord, TicketChange
from storage.tickets import TicketStore

DESK = "-1001500"
START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def numbered(sequence: int) -> str:
    return f"N{10_000 + sequence}"


def new_ticket(key: str, **fields: Any) -> NewTicket:
    values: dict[str, Any] = {
        "source_key": key,
        "channel": "telegram",
        "chat_id": f"chat-{key}",
        "user_id": f"user-{key}",
        "rule": "refusal_without_reason",
        "level": 2,
        "priority": 0,
        "status": "new",
        "identification": {"snils": "112-233-445 95"},
        "description": "отказали без объяснения",
        "desk_chat_id": DESK,
        "opened_at": START,
    }
    return NewTicket(**(values | fields))


def opened_event(level: int = 2) -> EventRecord:
    return EventRecord("bot", None, "new", level, note="refusal_without_reason")


async def open_one(
    store: TicketStore, key: str, numbering: Callable[[int], str] = numbered, **fields: Any
) -> Ticket:
    ticket, created = await store.open_ticket(
        new_ticket(key, **fields), numbering, opened_event(), [PostRecord("card")]
    )
    assert created
    return ticket


async def count(sessions: async_sessionmaker[AsyncSession], model: type[Any], *where: Any) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(model)
        if where:
            query = query.where(*where)
        return int((await session.execute(query)).scalar_one())


async def test_opening_twice_for_one_update_gives_the_same_ticket_and_writes_once(
    store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first, created = await store.open_ticket(
        new_ticket("tg:1:7"), numbered, opened_event(), [PostRecord("card")]
    )
    again, created_again = await store.open_ticket(
        new_ticket("tg:1:7", description="другое описание"), numbered, opened_event(), [PostRecord("card")]
    )

    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert again.number == first.number
    assert again.description == "отказали без объяснения"
    assert await count(sessions, TicketRow) == 1
    assert await count(sessions, TicketEvent) == 1
    assert await count(sessions, DeskPost) == 1


async def test_numbers_come_from_the_numbering_and_are_unique(
    store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tickets = [await open_one(store, f"tg:1:{i}") for i in range(3)]

    assert [t.number for t in tickets] == [numbered(t.id) for t in tickets]
    assert len({t.number for t in tickets}) == 3
    found = await store.by_number(numbered(tickets[1].id))
    assert found is not None and found.id == tickets[1].id

    with pytest.raises(IntegrityError):  # a numbering that repeats itself is refused, not a second "N…"
        await store.open_ticket(
            new_ticket("tg:1:9"),
            lambda _sequence: str(tickets[0].number),
            opened_event(),
            [PostRecord("card")],
        )
    assert await count(sessions, TicketRow) == 3
    assert await count(sessions, TicketEvent) == 3
    assert await count(sessions, DeskPost) == 3


async def test_a_change_at_a_stale_version_changes_nothing(
    store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await open_one(store, "tg:1:1")
    taken = await store.apply(TicketChange(ticket, replace(ticket, status=Status.IN_PROGRESS, assignee="1")))
    assert taken is not None and taken.version == ticket.version + 1

    late = TicketChange(
        ticket,  # what the second operator saw before the first one took it
        replace(ticket, status=Status.IN_PROGRESS, assignee="2"),
        EventRecord("2", "new", "in_progress", 2, "взято", "Борис"),
        [PostRecord("card"), PostRecord("text", "взято")],
        [CitizenMessage("Вашим обращением занимается оператор Борис.")],
        [NewUpdate("event:late", "telegram", "telegram:chat-tg:1:1", {"okno_event": {}})],
    )
    assert await store.apply(late) is None

    now = await store.ticket(ticket.id)
    assert now is not None
    assert (now.assignee, now.status, now.version) == ("1", "in_progress", ticket.version + 1)
    assert await count(sessions, TicketEvent) == 1  # the opening only
    assert await count(sessions, DeskPost) == 1
    assert await count(sessions, OutboxMessage) == 0
    assert await count(sessions, InboxUpdate) == 0


async def test_a_change_writes_only_what_the_action_changed(store: TicketStore) -> None:
    """The watch's bookkeeping (no version bump) written between an operator's read and their
    press is kept: the press writes the fields it changed, not the whole ticket it read."""
    ticket = await open_one(store, "tg:1:1")
    read_by_operator = await store.ticket(ticket.id)
    assert read_by_operator is not None
    await store.mark_sla_alerted(ticket.id)
    await store.mark_queue_told(ticket.id, 4)

    taken = await store.apply(
        TicketChange(read_by_operator, replace(read_by_operator, status=Status.IN_PROGRESS, assignee="1"))
    )

    assert taken is not None
    assert (taken.status, taken.assignee, taken.sla_alerted, taken.queue_told) == (
        Status.IN_PROGRESS,
        "1",
        True,
        4,
    )


async def test_a_ticket_reads_back_typed_with_its_times_in_utc(store: TicketStore) -> None:
    ticket = await open_one(store, "tg:1:1", opened_at=START)
    found = await store.ticket(ticket.id)

    assert found == ticket and isinstance(found.status, Status) and found.status.label == "новое"
    assert found.opened_at == START and found.opened_at.utcoffset() == timedelta(0)
    with pytest.raises(FrozenInstanceError):  # changed only through a change the store checks
        found.status = Status.CLOSED  # type: ignore[misc]


async def test_queue_position_puts_higher_priority_first_then_older(store: TicketStore) -> None:
    first = await open_one(store, "tg:1:1", opened_at=START)
    second = await open_one(store, "tg:1:2", opened_at=START + timedelta(minutes=1))
    urgent = await open_one(store, "tg:1:3", opened_at=START + timedelta(minutes=2), priority=5)
    await open_one(store, "tg:1:4", opened_at=START - timedelta(hours=1), level=3)  # another queue

    assert [await store.queue_position(t) for t in (urgent, first, second)] == [1, 2, 3]
    assert [t.id for t in await store.waiting(level=2)] == [urgent.id, first.id, second.id]

    taken = await store.apply(TicketChange(urgent, replace(urgent, status=Status.IN_PROGRESS)))
    assert taken is not None
    assert [await store.queue_position(t) for t in (first, second)] == [1, 2]


async def test_a_change_writes_event_posts_citizen_messages_and_updates_together(
    store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await open_one(store, "tg:1:1")
    async with sessions.begin() as session:
        session.add(Conversation(channel="telegram", chat_id=ticket.chat_id))
    media = {"kind": "document", "ref": "file-1"}
    change = TicketChange(
        ticket,
        replace(ticket, status=Status.IN_PROGRESS, assignee="1", assignee_name="Анна"),
        EventRecord("1", "new", "in_progress", 2, "взято", "Анна"),
        [PostRecord("card"), PostRecord("text", "ℹ️ взято"), PostRecord("document", "справка.pdf", "file-9")],
        [
            CitizenMessage("Анна: проверяю", [["status:1", "Статус обращения"]]),
            CitizenMessage("", media=media),
        ],
        [NewUpdate(f"event:{ticket.id}:taken:0", "telegram", f"telegram:{ticket.chat_id}", {"k": 1})],
    )

    changed = await store.apply(change)

    assert changed is not None and (changed.status, changed.assignee_name) == ("in_progress", "Анна")
    events = await store.events(ticket.id)
    assert [(e.before, e.after, e.actor_name) for e in events] == [
        (None, "new", None),
        ("new", "in_progress", "Анна"),
    ]
    posts = await store.pending_posts(DESK)
    assert [(p.kind, p.text, p.file_ref, p.ticket_id) for p in posts[1:]] == [
        ("card", "", None, ticket.id),
        ("text", "ℹ️ взято", None, ticket.id),
        ("document", "справка.pdf", "file-9", ticket.id),
    ]
    async with sessions() as session:
        outbox = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        inbox = (await session.scalars(select(InboxUpdate))).all()
        kept = (await session.scalars(select(Message).order_by(Message.id))).all()
    assert [(o.chat_id, o.text, o.buttons, o.media) for o in outbox] == [
        (ticket.chat_id, "Анна: проверяю", [["status:1", "Статус обращения"]], None),
        (ticket.chat_id, "", [], media),
    ]
    assert [o.message_id for o in outbox] == [m.id for m in kept]  # kept with the conversation
    assert [(m.direction, m.outcome) for m in kept] == [("out", "operator"), ("out", "operator")]
    assert await store.transcript("telegram", ticket.chat_id, 10) == [("out", "Анна: проверяю")]
    assert [(u.key, u.chat_key, u.payload, u.done) for u in inbox] == [
        (f"event:{ticket.id}:taken:0", f"telegram:{ticket.chat_id}", {"k": 1}, False)
    ]


async def test_a_ticket_without_a_group_gets_no_posts_but_the_citizen_is_told(
    store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await open_one(store, "tg:1:1", desk_chat_id=None)
    change = TicketChange(
        ticket,
        replace(ticket, status=Status.IN_PROGRESS),
        EventRecord("1", "new", "in_progress", 2),
        [PostRecord("card"), PostRecord("text", "взято")],
        [CitizenMessage("Вашим обращением занимается оператор.")],
    )

    assert await store.apply(change) is not None

    assert await count(sessions, DeskPost) == 0
    assert await count(sessions, OutboxMessage, OutboxMessage.chat_id == ticket.chat_id) == 1
    assert len(await store.events(ticket.id)) == 2


async def test_a_change_that_fails_halfway_leaves_no_trace(
    store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ticket = await open_one(store, "tg:1:1")
    update = NewUpdate(f"event:{ticket.id}:resolved:0", "telegram", f"telegram:{ticket.chat_id}", {})
    await store.inject([update])
    change = TicketChange(
        ticket,
        replace(ticket, status=Status.RESOLVED),
        EventRecord("1", "new", "resolved", 2),
        [PostRecord("text", "решено")],
        [CitizenMessage("Обращение решено.")],
        [update],  # its key is taken: the last write of the change fails
    )

    with pytest.raises(IntegrityError):
        await store.apply(change)

    now = await store.ticket(ticket.id)
    assert now is not None and (now.status, now.version) == ("new", ticket.version)
    assert len(await store.events(ticket.id)) == 1
    assert await count(sessions, DeskPost) == 1
    assert await count(sessions, OutboxMessage) == 0
    assert await count(sessions, InboxUpdate) == 1


async def test_inject_skips_an_update_already_there(
    store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = NewUpdate("event:1:closed:relay", "telegram", "telegram:42", {"okno_event": {"kind": "closed"}})
    second = NewUpdate("event:1:resolved:3", "telegram", "telegram:42", {"okno_event": {"kind": "resolved"}})
    await store.inject([first])
    await store.inject([NewUpdate(first.key, "telegram", "telegram:42", {"other": True}), second])
    await store.inject([])

    async with sessions() as session:
        rows = (await session.scalars(select(InboxUpdate).order_by(InboxUpdate.id))).all()
    assert [(r.key, r.payload) for r in rows] == [(first.key, first.payload), (second.key, second.payload)]


async def test_an_illegal_move_is_refused_and_nothing_is_stored(
    store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from handoff.config import HandoffConfig  # noqa: PLC0415 - the handoff side on top of the store
    from handoff.errors import IllegalTransition  # noqa: PLC0415
    from handoff.tracking import Tracker  # noqa: PLC0415

    ticket = await open_one(store, "illegal")
    tracker = Tracker(store, HandoffConfig(), lambda: None)
    event = EventRecord("op", "new", "resolved", 2)
    with pytest.raises(IllegalTransition):
        await tracker.change(
            ticket.id, lambda row: TicketChange(row, replace(row, status=Status.RESOLVED), event)
        )
    unchanged = await store.ticket(ticket.id)
    assert unchanged is not None and unchanged.status == "new" and unchanged.version == ticket.version
    assert await count(sessions, TicketEvent, TicketEvent.ticket_id == ticket.id) == 1


async def test_the_transcript_tells_presses_from_words_and_leaves_events_out(
    store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions.begin() as session:
        conversation = Conversation(channel="telegram", chat_id="77")
        session.add(conversation)
        await session.flush()
        for direction, text, payload in [
            ("in", "позовите оператора", None),
            ("out", "Назовите фамилию", None),
            ("in", "Пропустить", "intake:skip"),  # stored with the button's label
            ("in", "", "event:resolved"),  # what happened to the ticket, no words of the citizen
        ]:
            row = Message(conversation_id=conversation.id, direction=direction, text=text, payload=payload)
            session.add(row)
    assert await store.transcript("telegram", "77", 10) == [
        ("in", "позовите оператора"),
        ("out", "Назовите фамилию"),
        ("press", "Пропустить"),
    ]
