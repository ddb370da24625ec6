"""Operators' buttons on a ticket, without a database: MemoryTickets and MemoryDesk stand in for the
store and the operators' group (both held to the real ones: tests/integration/
test_ticket_repository_contract.py, tests/integration/test_desk_race.py on the real store)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from dialog.messages import SystemEvent, TicketEventKind
from dialog.tickets import Level, Status, Ticket
from handoff import texts
from handoff.actions import OperatorActions
from handoff.canned import CannedReplies
from handoff.cards import system_post
from handoff.config import HandoffConfig
from handoff.errors import IllegalTransition
from handoff.ports import DeskPress
from handoff.tickets import ticket_number
from handoff.tracking import Tracker
from storage.records import EventRecord, NewTicket, PostRecord, TicketChange
from tests.fakes.desk import MemoryDesk, as_desk
from tests.fakes.tickets import MemoryTickets, as_repository

DESK, SPECIALISTS = "-1001500", "-1001900"
TG = "telegram"
NAMES = {"1": "Анна Смирнова", "2": "Борис Петров"}
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@dataclass
class Group:
    """The operators' group around one ticket store."""

    config: HandoffConfig
    tickets: MemoryTickets = field(default_factory=lambda: MemoryTickets(lambda: NOW))
    desk: MemoryDesk = field(default_factory=MemoryDesk)
    changes: list[int] = field(default_factory=list)  # the tracker's on_change calls
    callbacks: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.tracker = Tracker(as_repository(self.tickets), self.config, lambda: self.changes.append(1))
        self.operators = OperatorActions(
            as_repository(self.tickets),
            as_desk(self.desk),
            self.config,
            self.tracker,
            CannedReplies([], {}),
            lambda: NOW,
        )

    async def open(self, key: str) -> Ticket:
        """A level-2 ticket in its own topic, its card posted, waiting to be taken."""
        new = NewTicket(
            source_key=key,
            channel=TG,
            chat_id=f"chat-{key}",
            user_id=f"user-{key}",
            rule="explicit_request",
            level=int(Level.OPERATOR),
            priority=0,
            status=Status.NEW,
            identification={},
            description="отказали без объяснения",
            desk_chat_id=DESK,
            opened_at=NOW,
        )
        event = EventRecord("bot", None, Status.NEW, new.level)
        ticket, _ = await self.tickets.open_ticket(
            new, lambda sequence: ticket_number(10_000 + sequence), event, [PostRecord("card")]
        )
        thread = await self.desk.create_topic(DESK, f"№ {ticket.number}")
        card = await self.desk.post(DESK, thread, f"Обращение № {ticket.number}")
        await self.tickets.set_topic(ticket.id, thread, card)
        return await self.now(ticket)

    async def press(self, ticket: Ticket, user: str, action: str) -> tuple[str, bool]:
        """An operator presses a button on the ticket's card; what they are told."""
        callback = f"cb-{next(self.callbacks)}"
        await self.operators.handle(
            DeskPress(DESK, ticket.thread_id, user, NAMES[user], callback, action, ticket.id)
        )
        return self.desk.answer_to(callback)

    async def now(self, ticket: Ticket) -> Ticket:
        found = await self.tickets.ticket(ticket.id)
        assert found is not None
        return found

    def told(self, ticket: Ticket) -> list[str]:
        return self.tickets.told(TG, ticket.chat_id)

    async def queued_posts(self, ticket: Ticket, desk: str = DESK) -> list[tuple[str, str]]:
        """What waits to be posted for the ticket in the group: (kind, text)."""
        return [(p.kind, p.text) for p in await self.tickets.pending_posts(desk) if p.ticket_id == ticket.id]


@pytest.fixture
def group() -> Group:
    return Group(HandoffConfig(desk_chats=(DESK,), operators=frozenset(NAMES)))


async def test_two_operators_pressing_take_at_once_leave_one_taker_and_tell_the_other(group: Group) -> None:
    ticket = await group.open("tg:1:1")

    anna, boris = await asyncio.gather(group.press(ticket, "1", "take"), group.press(ticket, "2", "take"))

    taken = await group.now(ticket)
    assert taken.status == Status.IN_PROGRESS and taken.assignee in NAMES
    assert taken.assignee_name == NAMES[str(taken.assignee)]
    winner, loser = (anna, boris) if taken.assignee == "1" else (boris, anna)
    assert winner == (texts.YOU_TOOK.format(number=ticket.number), False)
    assert loser == (texts.TAKEN_BY.format(name=taken.assignee_name), True)
    assert group.told(ticket) == [texts.TAKEN.format(number=ticket.number, name=f" {taken.assignee_name}")]
    moves = [(e.before, e.after, e.actor) for e in await group.tickets.events(ticket.id)]
    assert moves == [(None, Status.NEW, "bot"), (Status.NEW, Status.IN_PROGRESS, taken.assignee)]
    assert group.tickets.refused >= 1  # both built their change on the same version: a real race


async def test_a_transfer_to_a_specialist_puts_the_ticket_back_in_the_queue_a_level_up(group: Group) -> None:
    ticket = await group.open("tg:1:1")
    await group.press(ticket, "1", "take")
    await group.tickets.mark_sla_alerted(ticket.id)

    answer = await group.press(ticket, "1", "transfer")

    moved = await group.now(ticket)
    assert answer == ("", False)
    assert (moved.status, moved.level, moved.assignee, moved.assignee_name) == (
        Status.NEW,
        Level.SPECIALIST,
        None,
        None,
    )
    assert not moved.sla_alerted  # the specialists' wait is watched afresh
    assert [t.id for t in await group.tickets.waiting(level=Level.SPECIALIST)] == [ticket.id]
    assert group.told(ticket)[-1] == texts.TRANSFERRED.format(number=ticket.number)
    note = system_post(texts.TRANSFERRED_NOTE.format(name=NAMES["1"]))
    assert ("text", note) in await group.queued_posts(ticket)
    last = (await group.tickets.events(ticket.id))[-1]
    assert (last.before, last.after, last.level, last.actor) == (
        Status.IN_PROGRESS,
        Status.NEW,
        Level.SPECIALIST,
        "1",
    )


async def test_a_transfer_to_the_specialists_group_closes_the_old_topic() -> None:
    group = Group(HandoffConfig(desk_chats=(DESK,), specialist_chat=SPECIALISTS, operators=frozenset(NAMES)))
    ticket = await group.open("tg:1:1")
    await group.press(ticket, "1", "take")

    await group.press(ticket, "1", "transfer")

    moved = await group.now(ticket)
    note = system_post(texts.TRANSFERRED_NOTE.format(name=NAMES["1"]))
    assert ticket.thread_id is not None and ticket.card_message_id is not None
    assert group.desk.topics[ticket.thread_id]["closed"]
    assert group.desk.posts_in(ticket.thread_id)[-1] == note
    assert group.desk.messages[ticket.card_message_id]["text"] == note  # its buttons are gone
    assert (moved.desk_chat_id, moved.thread_id, moved.level, moved.assignee) == (
        SPECIALISTS,
        None,
        Level.SPECIALIST,
        None,
    )
    assert ("text", system_post(texts.TRANSFERRED_HERE)) in await group.queued_posts(ticket, SPECIALISTS)


async def test_resolving_ends_the_ticket_closes_its_topic_and_tells_the_citizen(group: Group) -> None:
    ticket = await group.open("tg:1:1")
    await group.press(ticket, "1", "take")

    answer = await group.press(ticket, "2", "resolve")

    resolved = await group.now(ticket)
    assert answer == ("", False)
    assert (resolved.status, resolved.resolved_at, resolved.assignee) == (Status.RESOLVED, NOW, "1")
    assert group.told(ticket)[-1] == texts.RESOLVED.format(number=ticket.number)
    posts = await group.queued_posts(ticket)
    note = system_post(texts.RESOLVED_NOTE.format(name=NAMES["2"]))
    assert ("text", note) in posts and posts[-1] == ("close", "")  # the note, and the topic closed last
    events = [SystemEvent.decode(u.channel, u.payload) for u in group.tickets.inbox.values()]
    assert events == [
        SystemEvent(TG, ticket.chat_id, ticket.user_id, TicketEventKind.RESOLVED, ticket.number)
    ]
    assert [u.chat_key for u in group.tickets.inbox.values()] == [f"{TG}:{ticket.chat_id}"]

    again = await group.press(ticket, "1", "resolve")  # a second press on a stale card

    assert again == (texts.NOT_NOW.format(status=Status.RESOLVED.label), True)
    assert await group.now(ticket) == resolved
    assert len(group.tickets.inbox) == 1 and group.told(ticket)[-1] == texts.RESOLVED.format(
        number=ticket.number
    )


async def test_resolving_a_ticket_nobody_took_is_refused_and_changes_nothing(group: Group) -> None:
    ticket = await group.open("tg:1:1")

    answer = await group.press(ticket, "1", "resolve")

    assert answer == (texts.NOT_NOW.format(status=Status.NEW.label), True)
    assert await group.now(ticket) == ticket
    assert group.told(ticket) == [] and group.tickets.inbox == {}


async def test_an_illegal_move_raises_and_writes_nothing(group: Group) -> None:
    ticket = await group.open("tg:1:1")
    posts = await group.queued_posts(ticket)

    def resolve_untaken(row: Ticket) -> TicketChange:
        event = EventRecord("1", row.status, Status.RESOLVED, row.level, "решено", NAMES["1"])
        return TicketChange(row, replace(row, status=Status.RESOLVED), event, [PostRecord("close")])

    with pytest.raises(IllegalTransition):
        await group.tracker.change(ticket.id, resolve_untaken)

    assert await group.now(ticket) == ticket
    assert len(await group.tickets.events(ticket.id)) == 1
    assert await group.queued_posts(ticket) == posts
    assert group.told(ticket) == [] and group.tickets.inbox == {} and group.changes == []
