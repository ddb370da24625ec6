"""The ticket repository's contract: MemoryTickets (tests/fakes/tickets.py) and TicketStore on SQLite
and PostgreSQL give the same results for the same scenarios, so what the handoff side is shown to do
on memory (tests/unit) it does on a database too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialog.tickets import Status, Ticket
from handoff.ports import TicketRepository
from storage.db import make_engine, make_sessions
from storage.dead_letters import DeadLetterStore
from storage.migrate import upgrade_async
from storage.models import Contact, Conversation, HandoffJob, InboxUpdate, Message, OutboxMessage
from storage.records import CitizenMessage, EventRecord, NewTicket, NewUpdate, PostRecord, TicketChange
from storage.tickets import TicketStore
from tests.conftest import new_database
from tests.fakes.tickets import MemoryTickets, as_repository

DESK, OTHER_DESK = "-1001500", "-1001600"
START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TG = "telegram"
Told = tuple[str, list[list[str]], dict[str, Any] | None]  # text, buttons, media


class Backend:
    """A repository and a look at what it wrote outside the port, the same way for every store."""

    repository: TicketRepository

    async def told(self, chat_id: str) -> list[Told]:
        """What was sent to the Telegram chat, in order."""
        raise NotImplementedError

    async def inbox(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The updates waiting in the inbox, in order: (key, chat key, payload)."""
        raise NotImplementedError

    async def converse(self, chat_id: str, lines: Sequence[tuple[str, str]] = ()) -> None:
        """The chat's conversation, with what was said: (direction "in", "out" or "press", text)."""
        raise NotImplementedError

    async def add_contact(self, user_id: str, name: str) -> None:
        raise NotImplementedError

    async def add_job(self, chat_id: str, kind: str) -> int:
        raise NotImplementedError

    async def letters(self) -> list[tuple[str, int, str, int]]:
        """Dead letters: (kind, id of what was given up, reason, attempts), sorted."""
        raise NotImplementedError


class Memory(Backend):
    def __init__(self) -> None:
        self.tickets = MemoryTickets()
        self.repository = as_repository(self.tickets)

    async def told(self, chat_id: str) -> list[Told]:
        return [(m.text, m.buttons, m.media) for m in self.tickets.outbox.get((TG, chat_id), [])]

    async def inbox(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(u.key, u.chat_key, u.payload) for u in self.tickets.inbox.values()]

    async def converse(self, chat_id: str, lines: Sequence[tuple[str, str]] = ()) -> None:
        self.tickets.converse(TG, chat_id, *lines)

    async def add_contact(self, user_id: str, name: str) -> None:
        self.tickets.add_contact(TG, user_id, name)

    async def add_job(self, chat_id: str, kind: str) -> int:
        return self.tickets.add_job(TG, chat_id, kind, {"n": 1}).id

    async def letters(self) -> list[tuple[str, int, str, int]]:
        return sorted((k.kind, k.ref_id, k.reason, k.attempts) for k in self.tickets.dead_letters)


class Database(Backend):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.repository = TicketStore(sessions)

    async def told(self, chat_id: str) -> list[Told]:
        async with self.sessions() as session:
            query = select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
            return [(o.text, o.buttons, o.media) for o in (await session.scalars(query)).all()]

    async def inbox(self) -> list[tuple[str, str, dict[str, Any]]]:
        async with self.sessions() as session:
            rows = (await session.scalars(select(InboxUpdate).order_by(InboxUpdate.id))).all()
            return [(u.key, u.chat_key, u.payload) for u in rows]

    async def converse(self, chat_id: str, lines: Sequence[tuple[str, str]] = ()) -> None:
        async with self.sessions.begin() as session:
            conversation = Conversation(channel=TG, chat_id=chat_id)
            session.add(conversation)
            await session.flush()
            for direction, text in lines:
                pressed = direction == "press"
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        direction="in" if pressed else direction,
                        text=text,
                        payload="button:1" if pressed else None,
                    )
                )

    async def add_contact(self, user_id: str, name: str) -> None:
        async with self.sessions.begin() as session:
            session.add(Contact(channel=TG, external_id=user_id, display_name=name))

    async def add_job(self, chat_id: str, kind: str) -> int:
        async with self.sessions.begin() as session:
            job = HandoffJob(key=f"job:{chat_id}:{kind}", channel=TG, chat_id=chat_id, user_id=chat_id)
            job.kind, job.payload = kind, {"n": 1}
            session.add(job)
            await session.flush()
            return job.id

    async def letters(self) -> list[tuple[str, int, str, int]]:
        found = await DeadLetterStore(self.sessions).letters()
        return sorted((k.kind, k.ref_id, k.reason, k.attempts) for k in found)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield Memory()
        return
    async with new_database(request.param, tmp_path) as url:
        await upgrade_async(url)
        engine = make_engine(url)
        try:
            yield Database(make_sessions(engine))
        finally:
            await engine.dispose()


def numbered(sequence: int) -> str:
    return f"N{10_000 + sequence}"


def new_ticket(key: str, **fields: Any) -> NewTicket:
    values: dict[str, Any] = {
        "source_key": key,
        "channel": TG,
        "chat_id": f"chat-{key}",
        "user_id": f"user-{key}",
        "rule": "refusal_without_reason",
        "level": 2,
        "priority": 0,
        "status": Status.NEW,
        "identification": {"snils": "112-233-445 95"},
        "description": "отказали без объяснения",
        "desk_chat_id": DESK,
        "opened_at": START,
    }
    return NewTicket(**(values | fields))


OPENED = EventRecord("bot", None, Status.NEW, 2, note="refusal_without_reason")


async def open_one(repository: TicketRepository, key: str, **fields: Any) -> Ticket:
    ticket, created = await repository.open_ticket(
        new_ticket(key, **fields), numbered, OPENED, [PostRecord("card")]
    )
    assert created
    return ticket


async def current(repository: TicketRepository, ticket: Ticket) -> Ticket:
    found = await repository.ticket(ticket.id)
    assert found is not None
    return found


def trail(events: list[EventRecord]) -> list[tuple[Any, ...]]:
    assert all(e.at is not None for e in events)
    return [(e.actor, e.before, e.after, e.level, e.note, e.actor_name) for e in events]


async def posts(repository: TicketRepository, desk: str = DESK) -> list[tuple[int, str, str, str | None]]:
    return [(p.ticket_id, p.kind, p.text, p.file_ref) for p in await repository.pending_posts(desk)]


# Opening


async def test_opening_twice_for_one_update_gives_the_same_ticket_and_writes_once(backend: Backend) -> None:
    repository = backend.repository
    await backend.add_contact("user-tg:1:7", "Иван Петров")
    first, created = await repository.open_ticket(
        new_ticket("tg:1:7"), numbered, OPENED, [PostRecord("card")]
    )
    again, created_again = await repository.open_ticket(
        new_ticket("tg:1:7", description="другое описание"), numbered, OPENED, [PostRecord("card")]
    )

    assert (created, created_again) == (True, False)
    assert again == first == await current(repository, first)
    assert (first.number, first.version, first.status) == (numbered(first.id), 0, Status.NEW)
    assert (first.description, first.citizen_name, first.contact_id is not None) == (
        "отказали без объяснения",
        "Иван Петров",
        True,
    )
    assert first.identification == {"snils": "112-233-445 95"} and first.status_changed_at == START
    assert await repository.by_number(first.number) == first
    assert trail(await repository.events(first.id)) == [
        ("bot", None, "new", 2, "refusal_without_reason", None)
    ]
    assert await posts(repository) == [(first.id, "card", "", None)]
    assert await repository.tickets_of(TG, first.chat_id) == [first]


async def test_a_numbering_that_repeats_itself_is_refused_and_nothing_is_written(backend: Backend) -> None:
    repository = backend.repository
    first = await open_one(repository, "tg:1:1")

    with pytest.raises(IntegrityError):
        await repository.open_ticket(
            new_ticket("tg:1:2"), lambda _: first.number, OPENED, [PostRecord("card")]
        )

    assert await repository.tickets_of(TG, "chat-tg:1:2") == []
    assert await posts(repository) == [(first.id, "card", "", None)]


# Changes


def taking(ticket: Ticket, user: str, name: str) -> TicketChange:
    """What the second operator saw before the first one took it, and what they wanted."""
    return TicketChange(
        ticket,
        replace(ticket, status=Status.IN_PROGRESS, assignee=user, assignee_name=name),
        EventRecord(user, Status.NEW, Status.IN_PROGRESS, 2, "взято", name),
        [PostRecord("card"), PostRecord("text", "взято")],
        [CitizenMessage(f"Вашим обращением занимается оператор {name}.")],
        [NewUpdate(f"event:taken:{user}", TG, f"{TG}:{ticket.chat_id}", {"okno_event": {}})],
    )


async def test_a_change_at_a_stale_version_is_refused_and_writes_nothing(backend: Backend) -> None:
    repository = backend.repository
    ticket = await open_one(repository, "tg:1:1")
    taken = await repository.apply(
        TicketChange(ticket, replace(ticket, status=Status.IN_PROGRESS, assignee="1"))
    )
    assert taken is not None and taken.version == ticket.version + 1

    assert await repository.apply(taking(ticket, "2", "Борис")) is None

    assert await current(repository, ticket) == taken
    assert len(await repository.events(ticket.id)) == 1  # the opening only
    assert len(await posts(repository)) == 1
    assert await backend.told(ticket.chat_id) == []
    assert await backend.inbox() == []


async def test_a_change_writes_event_posts_citizen_messages_and_updates_together(backend: Backend) -> None:
    repository = backend.repository
    ticket = await open_one(repository, "tg:1:1")
    await backend.converse(ticket.chat_id, [("in", "позовите оператора")])
    media = {"kind": "document", "ref": "file-1"}
    change = TicketChange(
        ticket,
        replace(ticket, status=Status.IN_PROGRESS, assignee="1", assignee_name="Анна", taken_at=START),
        EventRecord("1", Status.NEW, Status.IN_PROGRESS, 2, "взято", "Анна"),
        [PostRecord("card"), PostRecord("text", "ℹ️ взято"), PostRecord("document", "справка.pdf", "file-9")],
        [
            CitizenMessage("Анна: проверяю", [["status:1", "Статус обращения"]]),
            CitizenMessage("", media=media),
        ],
        [NewUpdate(f"event:{ticket.id}:taken:0", TG, f"{TG}:{ticket.chat_id}", {"k": 1})],
    )

    changed = await repository.apply(change)

    expected = replace(ticket, status=Status.IN_PROGRESS, assignee="1", assignee_name="Анна", taken_at=START)
    assert changed == replace(expected, version=1) == await current(repository, ticket)
    assert trail(await repository.events(ticket.id))[1:] == [("1", "new", "in_progress", 2, "взято", "Анна")]
    assert (await posts(repository))[1:] == [
        (ticket.id, "card", "", None),
        (ticket.id, "text", "ℹ️ взято", None),
        (ticket.id, "document", "справка.pdf", "file-9"),
    ]
    assert await backend.told(ticket.chat_id) == [
        ("Анна: проверяю", [["status:1", "Статус обращения"]], None),
        ("", [], media),
    ]
    assert await repository.transcript(TG, ticket.chat_id, 10) == [
        ("in", "позовите оператора"),
        ("out", "Анна: проверяю"),
    ]
    assert await backend.inbox() == [(f"event:{ticket.id}:taken:0", f"{TG}:{ticket.chat_id}", {"k": 1})]


async def test_a_change_that_cannot_write_its_update_leaves_no_trace(backend: Backend) -> None:
    repository = backend.repository
    ticket = await open_one(repository, "tg:1:1")
    update = NewUpdate(f"event:{ticket.id}:resolved:0", TG, f"{TG}:{ticket.chat_id}", {"first": True})
    await repository.inject([update])
    change = replace(taking(ticket, "1", "Анна"), inbox=[replace(update, payload={"second": True})])

    with pytest.raises(IntegrityError):  # its key is taken: the last write of the change fails
        await repository.apply(change)

    assert await current(repository, ticket) == ticket
    assert len(await repository.events(ticket.id)) == 1
    assert len(await posts(repository)) == 1
    assert await backend.told(ticket.chat_id) == []
    assert await backend.inbox() == [(update.key, update.chat_key, {"first": True})]


async def test_a_change_without_a_new_ticket_moves_the_version_and_writes_the_rest(backend: Backend) -> None:
    repository = backend.repository
    ticket = await open_one(repository, "tg:1:1")

    relayed = await repository.apply(TicketChange(ticket, to_citizen=[CitizenMessage("Анна: добрый день")]))

    assert relayed == replace(ticket, version=1) == await current(repository, ticket)
    assert [text for text, _, _ in await backend.told(ticket.chat_id)] == ["Анна: добрый день"]
    assert await repository.transcript(TG, ticket.chat_id, 10) == []  # no conversation to keep it in
    assert await repository.apply(TicketChange(ticket, to_citizen=[CitizenMessage("опоздало")])) is None


async def test_a_change_writes_only_what_the_action_changed(backend: Backend) -> None:
    """The watch's bookkeeping (no version bump) written between an operator's read and their
    press is kept: the press writes the fields it changed, not the whole ticket it read."""
    repository = backend.repository
    read_by_operator = await open_one(repository, "tg:1:1")
    await repository.mark_sla_alerted(read_by_operator.id)
    await repository.mark_queue_told(read_by_operator.id, 4)
    await repository.set_topic(read_by_operator.id, 500, 501)
    marked = await current(repository, read_by_operator)
    assert marked.version == read_by_operator.version  # bookkeeping is not a change

    taken = await repository.apply(
        TicketChange(read_by_operator, replace(read_by_operator, status=Status.IN_PROGRESS, assignee="1"))
    )

    assert taken is not None
    assert (taken.status, taken.assignee, taken.version) == (Status.IN_PROGRESS, "1", 1)
    assert (taken.sla_alerted, taken.queue_told, taken.thread_id, taken.card_message_id) == (
        True,
        4,
        500,
        501,
    )


async def test_posts_are_written_only_for_a_ticket_with_a_group(backend: Backend) -> None:
    repository = backend.repository
    ticket = await open_one(repository, "tg:1:1", desk_chat_id=None)
    change = TicketChange(
        ticket,
        replace(ticket, status=Status.IN_PROGRESS),
        EventRecord("1", Status.NEW, Status.IN_PROGRESS, 2),
        [PostRecord("card"), PostRecord("text", "взято")],
        [CitizenMessage("Вашим обращением занимается оператор.")],
    )

    changed = await repository.apply(change)
    assert changed is not None
    await repository.post(changed, [PostRecord("text", "гражданин заблокировал бота")])

    assert await repository.desks_with_posts() == []
    assert [text for text, _, _ in await backend.told(ticket.chat_id)] == [
        "Вашим обращением занимается оператор."
    ]
    assert len(await repository.events(ticket.id)) == 2

    moved = await repository.apply(
        TicketChange(changed, replace(changed, desk_chat_id=OTHER_DESK), None, [PostRecord("card")])
    )
    assert moved is not None  # posts go to the group the change moved the ticket to
    assert await posts(repository, OTHER_DESK) == [(ticket.id, "card", "", None)]


# The queue and the lookups


async def test_the_queue_puts_higher_priority_first_then_older_per_level(backend: Backend) -> None:
    repository = backend.repository
    first = await open_one(repository, "tg:1:1", opened_at=START)
    second = await open_one(repository, "tg:1:2", opened_at=START + timedelta(minutes=1))
    urgent = await open_one(repository, "tg:1:3", opened_at=START + timedelta(minutes=2), priority=5)
    specialist = await open_one(repository, "tg:1:4", opened_at=START - timedelta(hours=1), level=3)

    assert [await repository.queue_position(t) for t in (urgent, first, second, specialist)] == [1, 2, 3, 1]
    assert [t.id for t in await repository.waiting(level=2)] == [urgent.id, first.id, second.id]
    assert [t.id for t in await repository.waiting()] == [urgent.id, first.id, second.id, specialist.id]

    taken = await repository.apply(TicketChange(urgent, replace(urgent, status=Status.IN_PROGRESS)))
    assert taken is not None
    assert [await repository.queue_position(t) for t in (first, second)] == [1, 2]
    assert [t.id for t in await repository.waiting(level=2)] == [first.id, second.id]


async def test_a_chat_s_tickets_are_found_newest_first(backend: Backend) -> None:
    repository = backend.repository
    old = await open_one(repository, "tg:1:1", chat_id="42", opened_at=START)
    resolved = await repository.apply(
        TicketChange(old, replace(old, status=Status.RESOLVED, status_changed_at=START + timedelta(hours=1)))
    )
    newer = await open_one(repository, "tg:1:2", chat_id="42", opened_at=START + timedelta(hours=2))
    other = await open_one(repository, "tg:1:3", chat_id="43", opened_at=START)
    await repository.set_topic(old.id, 700, 701)
    await repository.set_topic(newer.id, 700, 702)  # a topic reused: the newest ticket in it counts
    old, newer = await current(repository, old), await current(repository, newer)

    assert resolved is not None
    assert await repository.tickets_of(TG, "42") == [newer, old]
    assert await repository.tickets_of(TG, "42", 1) == [newer]
    assert await repository.active_ticket(TG, "42") == newer
    assert await repository.last_resolved(TG, "42") == old
    assert await repository.last_resolved(TG, "43") is None
    assert await repository.by_thread(DESK, 700) == newer
    assert await repository.by_thread(OTHER_DESK, 700) is None
    assert await repository.tickets([other.id, old.id, 999]) == {other.id: other, old.id: old}
    assert await repository.tickets([]) == {}
    assert await repository.by_number("N1") is None
    late = START + timedelta(hours=3)
    assert await repository.with_status(Status.RESOLVED, late) == [old]
    assert await repository.with_status(Status.RESOLVED, START + timedelta(minutes=30)) == []
    assert sorted(t.id for t in await repository.with_status(Status.NEW, late)) == sorted(
        [newer.id, other.id]
    )


async def test_the_transcript_keeps_the_last_words_and_tells_presses_from_words(backend: Backend) -> None:
    repository = backend.repository
    lines = [("in", "позовите оператора"), ("out", "Назовите фамилию"), ("press", "Пропустить"), ("in", "")]
    await backend.converse("77", lines)

    assert await repository.transcript(TG, "77", 10) == lines[:3]
    assert await repository.transcript(TG, "77", 2) == lines[1:3]
    assert await repository.transcript(TG, "78", 10) == []


async def test_inject_skips_an_update_already_there(backend: Backend) -> None:
    repository = backend.repository
    first = NewUpdate("event:1:closed:relay", TG, f"{TG}:42", {"okno_event": {"kind": "closed"}})
    second = NewUpdate("event:1:resolved:3", TG, f"{TG}:42", {"okno_event": {"kind": "resolved"}})
    await repository.inject([first])
    await repository.inject([replace(first, payload={"other": True}), second])
    await repository.inject([])

    assert await backend.inbox() == [(u.key, u.chat_key, u.payload) for u in (first, second)]


# The queues of jobs and posts


async def test_jobs_wait_in_order_until_finished_or_given_up(backend: Backend) -> None:
    repository = backend.repository
    ids = [
        await backend.add_job(chat, kind) for chat, kind in [("1", "open"), ("2", "relay"), ("1", "status")]
    ]

    pending = await repository.pending_jobs(0, 10)
    assert [(j.id, j.chat_id, j.user_id, j.kind, j.payload) for j in pending] == [
        (ids[0], "1", "1", "open", {"n": 1}),
        (ids[1], "2", "2", "relay", {"n": 1}),
        (ids[2], "1", "1", "status", {"n": 1}),
    ]
    assert [j.id for j in await repository.pending_jobs(ids[0], 1)] == [ids[1]]
    assert [j.id for j in await repository.jobs_among([ids[2], ids[0], 999])] == [ids[0], ids[2]]

    await repository.finish_jobs([ids[0]])
    await repository.give_up_job(pending[1], "ValueError: сломано", 3)
    await repository.release_slot(12345)  # no place held there: nothing to release, and no error

    assert [j.id for j in await repository.pending_jobs(0, 10)] == [ids[2]]
    assert await repository.jobs_among(ids) == [pending[2]]
    assert await backend.letters() == [("job", ids[1], "ValueError: сломано", 3)]


async def test_posts_wait_per_group_until_posted_or_given_up(backend: Backend) -> None:
    repository = backend.repository
    ours = await open_one(repository, "tg:1:1")
    theirs = await open_one(repository, "tg:1:2", desk_chat_id=OTHER_DESK)
    await repository.post(ours, [PostRecord("text", "раз"), PostRecord("photo", "", "file-1")])

    waiting = await repository.pending_posts(DESK)
    assert [(p.ticket_id, p.kind, p.text, p.file_ref) for p in waiting] == [
        (ours.id, "card", "", None),
        (ours.id, "text", "раз", None),
        (ours.id, "photo", "", "file-1"),
    ]
    assert await repository.pending_posts(DESK, limit=1) == waiting[:1]
    assert sorted(await repository.desks_with_posts()) == sorted([DESK, OTHER_DESK])

    await repository.finish_posts([waiting[0].id])
    await repository.give_up_posts(waiting[1:], "TopicGone: тема удалена", 2)
    await repository.finish_posts([])

    assert await repository.pending_posts(DESK) == []
    assert await repository.desks_with_posts() == [OTHER_DESK]
    assert [p.ticket_id for p in await repository.pending_posts(OTHER_DESK)] == [theirs.id]
    assert await backend.letters() == [("post", p.id, "TopicGone: тема удалена", 2) for p in waiting[1:]]


# Links: other chats of the same citizen


async def test_open_tickets_of_other_chats_are_found_by_snils_or_phone_newest_first(backend: Backend) -> None:
    repository, links = backend.repository, backend.repository.links
    snils, phone = "11223344595", "+79123456789"
    by_snils = await open_one(repository, "tg:1:1", chat_id="1", snils=snils)
    by_phone = await open_one(repository, "tg:2:1", chat_id="2", phone=phone)
    both = await open_one(repository, "vk:3:1", channel="vk", chat_id="3", snils=snils, phone=phone)
    own = await open_one(repository, "tg:9:1", chat_id="9", snils=snils, phone=phone)
    closed = await open_one(repository, "tg:4:1", chat_id="4", snils=snils)
    assert await repository.apply(TicketChange(closed, replace(closed, status=Status.CLOSED))) is not None
    await open_one(repository, "tg:5:1", chat_id="5", snils="99999999999", phone="+79000000000")

    assert await links.open_with(snils, phone, TG, "9") == [both, by_phone, by_snils]
    assert await links.open_with(snils, None, TG, "9") == [both, by_snils]
    assert await links.open_with(None, phone, TG, "9") == [both, by_phone]
    assert await links.open_with(snils, phone, "vk", "9") == [own, both, by_phone, by_snils]
    assert await links.open_with(None, None, TG, "9") == []
    assert await links.open_with("", "", TG, "9") == []


async def test_a_linked_chat_finds_the_newest_ticket_it_was_linked_to(backend: Backend) -> None:
    repository, links = backend.repository, backend.repository.links
    first = await open_one(repository, "tg:1:1", chat_id="1")
    second = await open_one(repository, "tg:2:1", chat_id="2")

    assert await links.linked_open("vk", "7") is None
    await links.link(second.id, "vk", "7", "u7", "snils")
    await links.link(first.id, "vk", "7", "u7", "phone")
    await links.link(first.id, "vk", "7", "u7", "phone")  # a job run twice: linked once

    assert await links.linked_open("vk", "7") == second
    assert await links.last_linked("vk", "7") == second
    assert (await links.is_linked(first.id, "vk", "7"), await links.is_linked(first.id, "vk", "8")) == (
        True,
        False,
    )

    resolved = await repository.apply(TicketChange(second, replace(second, status=Status.RESOLVED)))
    assert resolved is not None
    assert await links.linked_open("vk", "7") == first  # the newest one still open
    assert await links.last_linked("vk", "7") == resolved
    closed = await repository.apply(TicketChange(first, replace(first, status=Status.CLOSED)))
    assert closed is not None
    assert await links.linked_open("vk", "7") is None
    assert await links.linked_open(TG, "1") is None  # a ticket's own chat is not linked to it
