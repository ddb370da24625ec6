"""Tickets in memory: the `handoff.ports.TicketRepository` port (and `TicketLinks`) for tests that
need no database.

What a test observes is what `storage.tickets.TicketStore` does (tests/integration/
test_ticket_repository_contract.py runs the same scenarios on both): a ticket is opened once per
source key and numbered from its id; `apply` writes the fields the action changed, only if the
ticket is still at the version the action read, with its event, posts (if the ticket has a group),
messages to the citizen and inbox updates — all or nothing; `set_topic` and `mark_*` keep the version.

Each method lets other tasks run first (a real store is a round trip away), then does its work at
once, as one transaction: operators acting together interleave as they do on a database. What the
store writes elsewhere is kept for tests to read: `outbox` (messages to citizens per chat, with the
slot they fill), `inbox`, `posts`, `dead_letters`, `released_slots`; `refused` counts stale changes.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from dialog.messages import TicketKind
from dialog.tickets import ACTIVE, Status, Ticket
from handoff.ports import TicketRepository
from storage.partitions import chat_partition
from storage.pending import Parts
from storage.records import (
    CitizenMessage,
    EventRecord,
    NewTicket,
    NewUpdate,
    PostRecord,
    QueuedJob,
    QueuedPost,
    TicketChange,
)
from storage.ticket_rows import changed_values

Chat = tuple[str, str]  # (channel, chat id)
OPEN_WITH_LIMIT = 20  # as LinkStore.open_with


@dataclass(frozen=True, slots=True)
class Link:
    ticket_id: int
    channel: str
    chat_id: str
    user_id: str
    matched: str  # "snils" or "phone"


@dataclass(frozen=True, slots=True)
class Letter:
    """A dead letter: work given up, and why."""

    kind: str  # "job" or "post"
    ref_id: int
    reason: str
    attempts: int


async def _round_trip() -> None:
    await asyncio.sleep(0)


def _refuse(what: str, value: object) -> IntegrityError:
    """What the database raises for a duplicate, so callers see the same error from both stores."""
    return IntegrityError(f"duplicate {what}", {what: value}, ValueError(f"{what} {value!r} exists"))


class MemoryLinks:
    """Other chats of a citizen joined to an open ticket (see storage.links.LinkStore)."""

    def __init__(self, tickets: MemoryTickets) -> None:
        self._tickets = tickets
        self.links: list[Link] = []

    async def open_with(
        self, snils: str | None, phone: str | None, channel: str, chat_id: str
    ) -> list[Ticket]:
        """Open tickets of other chats with exactly this СНИЛС or phone, newest first."""
        await _round_trip()
        if not snils and not phone:
            return []
        found = [
            t
            for t in self._tickets.newest_first()
            if t.status in ACTIVE
            and (t.channel, t.chat_id) != (channel, chat_id)
            and ((bool(snils) and t.snils == snils) or (bool(phone) and t.phone == phone))
        ]
        return found[:OPEN_WITH_LIMIT]

    async def link(self, ticket_id: int, channel: str, chat_id: str, user_id: str, matched: str) -> None:
        """The chat's messages go to the ticket from now on; linking twice changes nothing."""
        await _round_trip()
        if not self._linked(ticket_id, channel, chat_id):
            self.links.append(Link(ticket_id, channel, chat_id, user_id, matched))

    async def linked_open(self, channel: str, chat_id: str) -> Ticket | None:
        await _round_trip()
        return self._newest_linked(channel, chat_id, ACTIVE)

    async def last_linked(self, channel: str, chat_id: str) -> Ticket | None:
        await _round_trip()
        return self._newest_linked(channel, chat_id)

    async def is_linked(self, ticket_id: int, channel: str, chat_id: str) -> bool:
        await _round_trip()
        return self._linked(ticket_id, channel, chat_id)

    def _linked(self, ticket_id: int, channel: str, chat_id: str) -> bool:
        return any((k.ticket_id, k.channel, k.chat_id) == (ticket_id, channel, chat_id) for k in self.links)

    def _newest_linked(self, channel: str, chat_id: str, among: Iterable[Status] = Status) -> Ticket | None:
        """The newest ticket (by id, as LinkStore orders them) the chat was linked to, in `among`."""
        ids = {k.ticket_id for k in self.links if (k.channel, k.chat_id) == (channel, chat_id)}
        statuses = set(among)
        return next((t for t in self._tickets.newest_first() if t.id in ids and t.status in statuses), None)


class MemoryTickets:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock  # when events happen
        self.rows: dict[int, Ticket] = {}
        self.trail: dict[int, list[EventRecord]] = {}  # ticket id → its events, oldest first
        self.posts: dict[int, QueuedPost] = {}
        self.done_posts: set[int] = set()
        self.jobs: dict[int, QueuedJob] = {}
        self.done_jobs: set[int] = set()
        self.outbox: dict[Chat, list[CitizenMessage]] = {}
        self.inbox: dict[str, NewUpdate] = {}
        self.conversations: dict[Chat, list[tuple[str, str]]] = {}  # (direction, text), oldest first
        self.contacts: dict[Chat, tuple[int, str | None]] = {}  # (channel, user id) → (id, name)
        self.dead_letters: list[Letter] = []
        self.released_slots: list[int] = []
        self.refused = 0  # changes refused because the ticket had moved on
        self.links = MemoryLinks(self)
        self._ids = itertools.count(1)
        self._post_ids = itertools.count(1)
        self._job_ids = itertools.count(1)

    # Test helpers

    def add_contact(self, channel: str, user_id: str, name: str | None) -> None:
        """A citizen the bot knows: tickets they open carry their name."""
        self.contacts[(channel, user_id)] = (len(self.contacts) + 1, name)

    def converse(self, channel: str, chat_id: str, *lines: tuple[str, str]) -> None:
        """The chat's conversation exists (messages to the citizen are kept in it), with `lines`:
        (direction, text), a button the citizen pressed as ("press", its label)."""
        self.conversations.setdefault((channel, chat_id), []).extend(lines)

    def add_job(
        self, channel: str, chat_id: str, kind: str, payload: dict[str, Any] | None = None, key: str = ""
    ) -> QueuedJob:
        """Work a turn asked of the handoff side, waiting to be done (the chat's citizen asked)."""
        job_id = next(self._job_ids)
        self.jobs[job_id] = QueuedJob(
            job_id,
            key or f"job:{job_id}",
            channel,
            chat_id,
            chat_id,
            kind,
            payload or {},
            chat_partition(channel, chat_id),
        )
        return self.jobs[job_id]

    def told(self, channel: str, chat_id: str) -> list[str]:
        """The texts sent to the chat, in order (a file alone has the empty text)."""
        return [message.text for message in self.outbox.get((channel, chat_id), [])]

    def newest_first(self) -> list[Ticket]:
        return sorted(self.rows.values(), key=lambda t: t.id, reverse=True)

    # Tickets

    async def open_ticket(
        self, new: NewTicket, numbering: Callable[[int], str], event: EventRecord, posts: Sequence[PostRecord]
    ) -> tuple[Ticket, bool]:
        """The ticket for `new.source_key`, created now (True) or by an earlier run of the same job."""
        await _round_trip()
        found = next((t for t in self.rows.values() if t.source_key == new.source_key), None)
        if found is not None:
            return found, False
        ticket_id = next(self._ids)
        number = numbering(ticket_id)
        if any(t.number == number for t in self.rows.values()):
            raise _refuse("number", number)
        contact_id, name = self.contacts.get((new.channel, new.user_id), (None, None))
        values = {f.name: getattr(new, f.name) for f in fields(NewTicket)} | {
            "id": ticket_id,
            "number": number,
        }
        values |= {
            "status": Status(new.status),
            "kind": TicketKind(new.kind),
            "status_changed_at": new.opened_at,
        }
        values |= {"identification": dict(new.identification), "contact_id": contact_id, "citizen_name": name}
        ticket = Ticket(**values)
        self.rows[ticket_id] = ticket
        self._write_event(ticket_id, event)
        self._write_posts(ticket.desk_chat_id, ticket_id, posts)
        return ticket, True

    async def apply(self, change: TicketChange) -> Ticket | None:
        """The ticket as changed; None if it moved on from `change.before.version` meanwhile."""
        await _round_trip()
        before = change.before
        stored = self.rows.get(before.id)
        if stored is None or stored.version != before.version:
            self.refused += 1
            return None
        keys = [u.key for u in change.inbox]
        for key in keys:  # checked before anything is written: a failed change leaves no trace
            if key in self.inbox or keys.count(key) > 1:
                raise _refuse("inbox key", key)
        values = changed_values(before, change.after) if change.after is not None else {}
        changed = replace(stored, **values, version=before.version + 1)
        self.rows[before.id] = changed
        if change.event is not None:
            self._write_event(changed.id, change.event)
        self._write_posts(changed.desk_chat_id, changed.id, change.posts)
        self._to_citizen(changed.channel, changed.chat_id, change.to_citizen)
        self.inbox.update((u.key, u) for u in change.inbox)
        return changed

    async def ticket(self, ticket_id: int) -> Ticket | None:
        await _round_trip()
        return self.rows.get(ticket_id)

    async def tickets(self, ids: Sequence[int]) -> dict[int, Ticket]:
        await _round_trip()
        return {i: self.rows[i] for i in ids if i in self.rows}

    async def by_number(self, number: str) -> Ticket | None:
        await _round_trip()
        return next((t for t in self.rows.values() if t.number == number), None)

    async def by_thread(self, desk_chat_id: str, thread_id: int) -> Ticket | None:
        await _round_trip()
        return self._newest(lambda t: (t.desk_chat_id, t.thread_id) == (desk_chat_id, thread_id))

    async def active_ticket(self, channel: str, chat_id: str) -> Ticket | None:
        await _round_trip()
        return self._newest(lambda t: (t.channel, t.chat_id) == (channel, chat_id) and t.status in ACTIVE)

    async def last_resolved(self, channel: str, chat_id: str) -> Ticket | None:
        await _round_trip()
        return self._newest(
            lambda t: (t.channel, t.chat_id) == (channel, chat_id) and t.status == Status.RESOLVED
        )

    async def tickets_of(self, channel: str, chat_id: str, limit: int = 5) -> list[Ticket]:
        """The chat's tickets, newest first."""
        await _round_trip()
        return [t for t in self.newest_first() if (t.channel, t.chat_id) == (channel, chat_id)][:limit]

    async def waiting(self, level: int | None = None) -> list[Ticket]:
        """Tickets nobody has taken yet, in the order they will be taken."""
        await _round_trip()
        new = [t for t in self.rows.values() if t.status == Status.NEW and level in (None, t.level)]
        return sorted(new, key=lambda t: (-t.priority, t.id))

    async def with_status(self, status: Status, changed_before: datetime) -> list[Ticket]:
        await _round_trip()
        return [t for t in self.rows.values() if t.status == status and t.status_changed_at < changed_before]

    async def queue_position(self, ticket: Ticket) -> int:
        """1 for the next ticket to be taken at its level: higher priority first, then older first."""
        await _round_trip()
        ahead = [
            t
            for t in self.rows.values()
            if t.status == Status.NEW
            and t.level == ticket.level
            and t.id != ticket.id
            and (t.priority, -t.id) > (ticket.priority, -ticket.id)
        ]
        return len(ahead) + 1

    async def events(self, ticket_id: int) -> list[EventRecord]:
        await _round_trip()
        return list(self.trail.get(ticket_id, []))

    async def transcript(self, channel: str, chat_id: str, limit: int) -> list[tuple[str, str]]:
        """The conversation's last messages, oldest first: (direction, text)."""
        await _round_trip()
        lines = [line for line in self.conversations.get((channel, chat_id), []) if line[1]]
        return lines[max(0, len(lines) - limit) :]

    async def set_topic(self, ticket_id: int, thread_id: int | None, card_message_id: int | None) -> None:
        await _round_trip()
        self._note(ticket_id, thread_id=thread_id, card_message_id=card_message_id)

    async def mark_sla_alerted(self, ticket_id: int) -> None:
        await _round_trip()
        self._note(ticket_id, sla_alerted=True)

    async def mark_queue_told(self, ticket_id: int, position: int) -> None:
        await _round_trip()
        self._note(ticket_id, queue_told=position)

    # Messages that are not ticket changes

    async def post(self, ticket: Ticket, posts: Sequence[PostRecord]) -> None:
        await _round_trip()
        self._write_posts(ticket.desk_chat_id, ticket.id, posts)

    async def send_to_citizen(self, channel: str, chat_id: str, messages: Sequence[CitizenMessage]) -> None:
        await _round_trip()
        self._to_citizen(channel, chat_id, messages)

    async def inject(self, updates: Sequence[NewUpdate]) -> None:
        """Ticket events into the citizens' inbox; keys already there are skipped."""
        await _round_trip()
        for update in updates:
            self.inbox.setdefault(update.key, update)

    # The jobs turns asked for, and the posts waiting for a topic

    async def pending_jobs(
        self, after_id: int, limit: int, parts: list[int] | None = None
    ) -> list[QueuedJob]:
        await _round_trip()
        return self._jobs(lambda job_id: job_id > after_id, parts)[:limit]

    async def jobs_among(self, ids: Sequence[int], parts: Parts = None) -> list[QueuedJob]:
        await _round_trip()
        return self._jobs(set(ids).__contains__, parts)

    async def settled_jobs(self, ids: Sequence[int], parts: list[int]) -> list[int]:
        await _round_trip()
        pending = {job.id for job in self._jobs(lambda _: True, parts)}
        return [job_id for job_id in ids if job_id in self.jobs and job_id not in pending]

    async def finish_jobs(self, job_ids: Sequence[int]) -> None:
        await _round_trip()
        self.done_jobs.update(job_ids)

    async def give_up_job(self, job: QueuedJob, reason: str, attempts: int) -> None:
        """The job is done with, and a dead letter says why."""
        await _round_trip()
        self.done_jobs.add(job.id)
        self.dead_letters.append(Letter("job", job.id, reason, attempts))

    async def release_slot(self, slot: int) -> None:
        await _round_trip()
        self.released_slots.append(slot)

    async def pending_posts(self, desk_chat_id: str, limit: int = 200) -> list[QueuedPost]:
        await _round_trip()
        return [p for p in self._waiting_posts() if p.desk_chat_id == desk_chat_id][:limit]

    async def desks_with_posts(self) -> list[str]:
        await _round_trip()
        return list(dict.fromkeys(p.desk_chat_id for p in self._waiting_posts()))

    async def finish_posts(self, ids: Sequence[int]) -> None:
        await _round_trip()
        self.done_posts.update(ids)

    async def give_up_posts(self, posts: Sequence[QueuedPost], reason: str, attempts: int) -> None:
        """Posts the group refuses are done with, a dead letter each."""
        await _round_trip()
        for post in posts:
            self.done_posts.add(post.id)
            self.dead_letters.append(Letter("post", post.id, reason, attempts))

    # Inside one "transaction"

    def _newest(self, matches: Callable[[Ticket], bool]) -> Ticket | None:
        return next((t for t in self.newest_first() if matches(t)), None)

    def _note(self, ticket_id: int, **values: Any) -> None:
        """Bookkeeping that is not a ticket change: no version bump."""
        if ticket_id in self.rows:
            self.rows[ticket_id] = replace(self.rows[ticket_id], **values)

    def _write_event(self, ticket_id: int, event: EventRecord) -> None:
        """Kept as the database gives it back: statuses as plain strings, the time it was written."""
        before = None if event.before is None else str(event.before)
        kept = replace(event, before=before, after=str(event.after), at=self.clock())
        self.trail.setdefault(ticket_id, []).append(kept)

    def _write_posts(self, desk_chat_id: str | None, ticket_id: int, posts: Iterable[PostRecord]) -> None:
        if not desk_chat_id:  # nobody would see them
            return
        for post in posts:
            post_id = next(self._post_ids)
            self.posts[post_id] = QueuedPost(
                post_id, desk_chat_id, ticket_id, post.kind, post.text, post.file_ref
            )

    def _to_citizen(self, channel: str, chat_id: str, messages: Sequence[CitizenMessage]) -> None:
        conversation = self.conversations.get((channel, chat_id))
        for message in messages:
            if conversation is not None:  # kept with the conversation, for transcripts
                conversation.append(("out", message.text))
            self.outbox.setdefault((channel, chat_id), []).append(message)

    def _jobs(self, among: Callable[[int], bool], parts: list[int] | None = None) -> list[QueuedJob]:
        return [
            job
            for job_id, job in sorted(self.jobs.items())
            if job_id not in self.done_jobs and among(job_id) and (parts is None or job.part in parts)
        ]

    def _waiting_posts(self) -> list[QueuedPost]:
        return [post for post_id, post in sorted(self.posts.items()) if post_id not in self.done_posts]


def as_repository(tickets: MemoryTickets) -> TicketRepository:
    """MemoryTickets where a TicketRepository is expected: a type checker checks here that it
    satisfies the port (tests/unit/test_memory_tickets.py checks the signatures at run time)."""
    return tickets
