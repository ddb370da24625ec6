"""The tickets repository: tickets with their audit trail, handoff jobs and posts for operators."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Update, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialog.tickets import ACTIVE, Status, Ticket
from storage.db import as_utc
from storage.dead_letters import DeadLetterStore
from storage.links import LinkStore
from storage.models import (
    Contact,
    Conversation,
    DeskPost,
    HandoffJob,
    InboxUpdate,
    Message,
    OutboxMessage,
    TicketEvent,
    TicketRow,
    utcnow,
)
from storage.partitions import chat_partition, filtered, settled_ids
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
from storage.repositories import inbox_row, insert_updates
from storage.ticket_rows import changed_values, maybe_ticket, ticket_of, tickets_of_rows

# a citizen's button press reads differently in a transcript from what they wrote
_PRESS_OR_DIRECTION = case(
    (Message.payload.is_not(None) & (Message.direction == "in"), "press"), else_=Message.direction
)


class TicketStore:
    """All database access of the handoff side; each method is one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.dead_letters = DeadLetterStore(sessions)
        self.links = LinkStore(sessions)

    # Jobs

    async def pending_jobs(self, after_id: int, limit: int, parts: Parts = None) -> list[QueuedJob]:
        async with self._sessions() as session:
            query = (
                select(HandoffJob)
                .where(HandoffJob.done.is_(False), HandoffJob.id > after_id)
                .order_by(HandoffJob.id)
                .limit(limit)
            )
            return [
                _job(row) for row in (await session.scalars(filtered(query, HandoffJob.part, parts))).all()
            ]

    async def jobs_among(self, ids: Sequence[int], parts: Parts = None) -> list[QueuedJob]:
        async with self._sessions() as session:
            query = select(HandoffJob).where(HandoffJob.done.is_(False), HandoffJob.id.in_(list(ids)))
            query = filtered(query, HandoffJob.part, parts)
            return [_job(row) for row in (await session.scalars(query.order_by(HandoffJob.id))).all()]

    async def settled_jobs(self, ids: Sequence[int], parts: list[int]) -> list[int]:
        async with self._sessions() as session:
            query = settled_ids(HandoffJob, HandoffJob.done.is_(False), list(ids), parts)
            return list((await session.scalars(query)).all())

    async def release_slot(self, slot: int) -> None:
        """A job said nothing in its place: the chat's later replies stop waiting for it."""
        async with self._sessions.begin() as session:
            await session.execute(_release(slot))

    async def give_up_job(self, job: QueuedJob, reason: str, attempts: int) -> None:
        await self.dead_letters.give_up_job(job, reason, attempts)

    async def give_up_posts(self, posts: Sequence[QueuedPost], reason: str, attempts: int) -> None:
        await self.dead_letters.give_up_posts(posts, reason, attempts)

    async def finish_jobs(self, job_ids: Sequence[int]) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(HandoffJob).where(HandoffJob.id.in_(list(job_ids))).values(done=True)
            )

    # Tickets

    async def open_ticket(
        self, new: NewTicket, numbering: Callable[[int], str], event: EventRecord, posts: Sequence[PostRecord]
    ) -> tuple[Ticket, bool]:
        """The ticket for `new.source_key`: created with its number, event and posts, or the one
        already created for that key (a job run twice). True when it is new."""
        async with self._sessions.begin() as session:
            found = await session.scalar(select(TicketRow).where(TicketRow.source_key == new.source_key))
            if found is not None:
                return ticket_of(found), False
            contact = await session.scalar(
                select(Contact).where(Contact.channel == new.channel, Contact.external_id == new.user_id)
            )
            values = {k: getattr(new, k) for k in NewTicket.__dataclass_fields__}
            row = TicketRow(
                **values,
                status_changed_at=new.opened_at,
                contact_id=contact.id if contact else None,
                citizen_name=contact.display_name if contact else None,
            )
            session.add(row)
            await session.flush()
            row.number = numbering(row.id)
            await _write_event(session, row.id, event)
            await _write_posts(session, row.desk_chat_id, row.id, posts)
            return ticket_of(row), True

    async def ticket(self, ticket_id: int) -> Ticket | None:
        async with self._sessions() as session:
            return maybe_ticket(await session.get(TicketRow, ticket_id))

    async def tickets(self, ids: Sequence[int]) -> dict[int, Ticket]:
        """Several tickets by id in one query; missing ids are left out."""
        if not ids:
            return {}
        async with self._sessions() as session:
            rows = await session.scalars(select(TicketRow).where(TicketRow.id.in_(list(ids))))
            return {row.id: ticket_of(row) for row in rows.all()}

    async def by_number(self, number: str) -> Ticket | None:
        async with self._sessions() as session:
            return maybe_ticket(await session.scalar(select(TicketRow).where(TicketRow.number == number)))

    async def by_thread(self, desk_chat_id: str, thread_id: int) -> Ticket | None:
        async with self._sessions() as session:
            query = (
                select(TicketRow)
                .where(TicketRow.desk_chat_id == desk_chat_id, TicketRow.thread_id == thread_id)
                .order_by(TicketRow.id.desc())
                .limit(1)
            )
            return maybe_ticket(await session.scalar(query))

    async def active_ticket(self, channel: str, chat_id: str) -> Ticket | None:
        async with self._sessions() as session:
            query = _of_chat(channel, chat_id).where(TicketRow.status.in_(sorted(ACTIVE)))
            return maybe_ticket(await session.scalar(query))

    async def last_resolved(self, channel: str, chat_id: str) -> Ticket | None:
        async with self._sessions() as session:
            query = _of_chat(channel, chat_id).where(TicketRow.status == Status.RESOLVED)
            return maybe_ticket(await session.scalar(query))

    async def tickets_of(self, channel: str, chat_id: str, limit: int = 5) -> list[Ticket]:
        async with self._sessions() as session:
            return tickets_of_rows((await session.scalars(_of_chat(channel, chat_id).limit(limit))).all())

    async def waiting(self, level: int | None = None) -> list[Ticket]:
        """Tickets nobody has taken yet, in the order they will be taken."""
        async with self._sessions() as session:
            query = select(TicketRow).where(TicketRow.status == Status.NEW)
            if level is not None:
                query = query.where(TicketRow.level == level)
            query = query.order_by(TicketRow.priority.desc(), TicketRow.id)  # as queue_position counts
            return tickets_of_rows((await session.scalars(query)).all())

    async def with_status(self, status: Status, changed_before: datetime) -> list[Ticket]:
        async with self._sessions() as session:
            query = select(TicketRow).where(
                TicketRow.status == status, TicketRow.status_changed_at < changed_before
            )
            return tickets_of_rows((await session.scalars(query)).all())

    async def events(self, ticket_id: int) -> list[EventRecord]:
        """The ticket's audit trail, oldest first."""
        async with self._sessions() as session:
            query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
            return [
                EventRecord(e.actor, e.before, e.after, e.level, e.note, e.actor_name, as_utc(e.at))
                for e in (await session.scalars(query)).all()
            ]

    async def transcript(self, channel: str, chat_id: str, limit: int) -> list[tuple[str, str]]:
        """The conversation's last messages, oldest first: (direction, text); a button the citizen
        pressed has the direction "press" and its label as the text."""
        async with self._sessions() as session:
            query = (
                select(_PRESS_OR_DIRECTION, Message.text)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.channel == channel, Conversation.chat_id == chat_id, Message.text != "")
                .order_by(Message.id.desc())
                .limit(limit)
            )
            rows = (await session.execute(query)).all()
            return [(str(direction), str(text)) for direction, text in reversed(rows)]

    async def apply(self, change: TicketChange) -> Ticket | None:
        """Apply a change if the ticket is still at its version; None if someone else changed it first."""
        before = change.before
        values = changed_values(before, change.after) if change.after is not None else {}
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(TicketRow)
                .where(TicketRow.id == before.id, TicketRow.version == before.version)
                .values(**values, version=before.version + 1)
                .returning(TicketRow.id)
            )
            if result.scalar_one_or_none() is None:
                return None
            row = await session.get(TicketRow, before.id, populate_existing=True)
            assert row is not None  # updated above in this transaction
            if change.event is not None:
                await _write_event(session, row.id, change.event)
            await _write_posts(session, row.desk_chat_id, row.id, change.posts)
            await _to_citizen(session, row.channel, row.chat_id, change.to_citizen)
            if change.inbox:
                await session.execute(insert(InboxUpdate), [inbox_row(u) for u in change.inbox])
            return ticket_of(row)

    # Messages that are not ticket changes

    async def post(self, ticket: Ticket, posts: Sequence[PostRecord]) -> None:
        async with self._sessions.begin() as session:
            await _write_posts(session, ticket.desk_chat_id, ticket.id, posts)

    async def send_to_citizen(self, channel: str, chat_id: str, messages: Sequence[CitizenMessage]) -> None:
        async with self._sessions.begin() as session:
            await _to_citizen(session, channel, chat_id, messages)

    async def pending_posts(self, desk_chat_id: str, limit: int = 200) -> list[QueuedPost]:
        async with self._sessions() as session:
            query = (
                select(DeskPost)
                .where(DeskPost.done.is_(False), DeskPost.desk_chat_id == desk_chat_id)
                .order_by(DeskPost.id)
                .limit(limit)
            )
            return [_post(row) for row in (await session.scalars(query)).all()]

    async def desks_with_posts(self) -> list[str]:
        async with self._sessions() as session:
            query = select(DeskPost.desk_chat_id).where(DeskPost.done.is_(False)).distinct()
            return [str(chat) for chat in (await session.scalars(query)).all()]

    async def finish_posts(self, ids: Sequence[int]) -> None:
        if ids:
            async with self._sessions.begin() as session:
                await session.execute(update(DeskPost).where(DeskPost.id.in_(list(ids))).values(done=True))

    async def set_topic(self, ticket_id: int, thread_id: int | None, card_message_id: int | None) -> None:
        """Where the ticket lives in the operators' group; not a ticket change, so no version bump."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(TicketRow)
                .where(TicketRow.id == ticket_id)
                .values(thread_id=thread_id, card_message_id=card_message_id)
            )

    async def mark_sla_alerted(self, ticket_id: int) -> None:
        """Bookkeeping that does not change what operators act on, so no version bump."""
        await self._note(ticket_id, sla_alerted=True)

    async def mark_queue_told(self, ticket_id: int, position: int) -> None:
        """The queue position the citizen was last told; bookkeeping, so no version bump."""
        await self._note(ticket_id, queue_told=position)

    async def _note(self, ticket_id: int, **values: Any) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(TicketRow).where(TicketRow.id == ticket_id).values(**values))

    async def queue_position(self, ticket: Ticket) -> int:
        """1 for the next ticket to be taken at its level: higher priority first, then older first."""
        async with self._sessions() as session:
            ahead = (
                select(func.count())
                .select_from(TicketRow)
                .where(
                    TicketRow.status == Status.NEW,
                    TicketRow.level == ticket.level,
                    TicketRow.id != ticket.id,
                    (TicketRow.priority > ticket.priority)
                    | ((TicketRow.priority == ticket.priority) & (TicketRow.id < ticket.id)),
                )
            )
            return int(await session.scalar(ahead) or 0) + 1

    async def inject(self, updates: Sequence[NewUpdate]) -> None:
        """Updates that did not come from a platform (ticket events) into the inbox; duplicates skipped."""
        async with self._sessions.begin() as session:
            await insert_updates(session, updates)


def _of_chat(channel: str, chat_id: str) -> Select[TicketRow]:
    return (
        select(TicketRow)
        .where(TicketRow.channel == channel, TicketRow.chat_id == chat_id)
        .order_by(TicketRow.id.desc())
    )


async def _write_event(session: AsyncSession, ticket_id: int, event: EventRecord) -> None:
    values = {k: getattr(event, k) for k in EventRecord.__dataclass_fields__ if k != "at"}
    await session.execute(insert(TicketEvent).values(ticket_id=ticket_id, at=utcnow(), **values))


async def _write_posts(
    session: AsyncSession, desk_chat_id: str | None, ticket_id: int, posts: Sequence[PostRecord]
) -> None:
    if posts and desk_chat_id:
        rows = [
            {"desk_chat_id": desk_chat_id, "ticket_id": ticket_id, "kind": p.kind, "text": p.text}
            | {"file_ref": p.file_ref}
            for p in posts
        ]
        await session.execute(insert(DeskPost), rows)


def _job(row: HandoffJob) -> QueuedJob:
    return QueuedJob(
        row.id, row.key, row.channel, row.chat_id, row.user_id, row.kind, dict(row.payload), row.part
    )


def _post(row: DeskPost) -> QueuedPost:
    return QueuedPost(row.id, row.desk_chat_id, row.ticket_id, row.kind, row.text, row.file_ref)


def _release(slot: int) -> Update:
    held = OutboxMessage.held.is_(True)
    return update(OutboxMessage).where(OutboxMessage.id == slot, held).values(held=False, sent=True)


async def _to_citizen(
    session: AsyncSession, channel: str, chat_id: str, messages: Sequence[CitizenMessage]
) -> None:
    if not messages:
        return
    conversation = await session.scalar(
        select(Conversation.id).where(Conversation.channel == channel, Conversation.chat_id == chat_id)
    )
    for message in messages:
        message_id = None
        if conversation is not None:  # kept with the conversation, for transcripts and statistics
            message_id = await session.scalar(
                insert(Message)
                .values(
                    conversation_id=conversation, direction="out", text=message.text, outcome=message.outcome
                )
                .returning(Message.id)
            )
        values: dict[str, Any] = {"message_id": message_id, "text": message.text}
        values |= {"buttons": message.buttons, "media": message.media}
        if message.slot is not None:  # its place in the chat's order was kept when the turn was written
            filled = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.slot, OutboxMessage.held.is_(True))
                .values(**values, held=False)
                .returning(OutboxMessage.id)
            )
            if filled.scalar_one_or_none() is not None:
                continue
        part = chat_partition(channel, chat_id)
        await session.execute(
            insert(OutboxMessage).values(channel=channel, chat_id=chat_id, part=part, **values)
        )
