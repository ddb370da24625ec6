"""One citizen's personal data: everything stored about them (export) and its anonymization (forget).

A citizen is a contact: a channel and the id that channel knows them by. Their data is the contact,
the conversations they had with the bot (messages, the engine's state), the tickets opened for them
(with events, notes, links to their other chats and the operators' topic posts), the web-chat files of
their chats, and the raw updates, replies and dead letters of those chats. Their other chats, linked to
their tickets by an exactly matching СНИЛС or phone, are the same person's: those chats' conversations,
contacts and files, and the tickets their chats were linked to, are theirs too (storage/privacy_links.py).

Anonymizing replaces every free text and identifier they gave with MARKER and deletes their files,
but keeps the rows, their counts, statuses and times: statistics add up the same afterwards. The
channel ids stay, so that the record of what was done, and when, still holds together."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Base
from storage.models import (
    Contact,
    Conversation,
    DeadLetter,
    DeskPost,
    HandoffJob,
    InboxUpdate,
    Message,
    OutboxMessage,
    TicketEvent,
    TicketLink,
    TicketNote,
    TicketRow,
    WebFile,
    utcnow,
)
from storage.privacy_links import Linked, linked_to

MARKER = "[удалено по запросу]"
FORGOTTEN_PAYLOAD = {"forgotten": MARKER}
WEB = "web"


@dataclass(frozen=True)
class Subject:
    """What belongs to one citizen: their contact, conversations, tickets and chats, and what their
    other chats linked to their tickets add."""

    contact: Contact
    conversations: tuple[Conversation, ...]
    tickets: tuple[TicketRow, ...]
    linked: Linked = field(default_factory=Linked)

    @property
    def chats(self) -> list[tuple[str, str]]:
        """(channel, chat id) of every chat: their conversations', their tickets' and the linked ones."""
        found = {(c.channel, c.chat_id) for c in self.conversations}
        found |= {(t.channel, t.chat_id) for t in self.tickets}
        return sorted(found | self.linked.chats)

    @property
    def conversation_ids(self) -> list[int]:
        return [c.id for c in (*self.conversations, *self.linked.conversations)]

    @property
    def ticket_ids(self) -> list[int]:
        return [t.id for t in (*self.tickets, *self.linked.tickets)]

    @property
    def contacts(self) -> tuple[Contact, ...]:
        """Their contact and the same person's in the linked chats."""
        return (self.contact, *self.linked.contacts)


def parse_contact(text: str) -> tuple[str, str]:
    """«telegram:12345» → ("telegram", "12345"); ValueError when it is not CHANNEL:ID."""
    channel, _, external_id = text.strip().partition(":")
    if not channel or not external_id:
        raise ValueError(f"{text!r} is not CHANNEL:ID, e.g. telegram:12345 or vk:67890")
    return channel, external_id


async def find_contact(session: AsyncSession, channel: str, external_id: str) -> Contact | None:
    query = select(Contact).where(Contact.channel == channel, Contact.external_id == external_id)
    contact: Contact | None = await session.scalar(query)
    return contact


async def subject_of(session: AsyncSession, contact: Contact, linked: bool = True) -> Subject:
    """The contact's own conversations and tickets; with `linked`, what the links add too."""
    conversations = await session.scalars(
        select(Conversation).where(Conversation.contact_id == contact.id).order_by(Conversation.id)
    )
    tickets = await session.scalars(
        select(TicketRow)
        .where(
            or_(
                TicketRow.contact_id == contact.id,
                (TicketRow.channel == contact.channel) & (TicketRow.user_id == contact.external_id),
            )
        )
        .order_by(TicketRow.id)
    )
    own = Subject(contact, tuple(conversations), tuple(tickets))
    if not linked:
        return own
    return Subject(
        contact,
        own.conversations,
        own.tickets,
        await linked_to(session, contact, own.conversations, own.tickets),
    )


def as_dict(row: Base, leave: Sequence[str] = ()) -> dict[str, Any]:
    """A row's columns by name, JSON-ready: times as ISO strings."""
    found: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.key in leave:
            continue
        value = getattr(row, column.key)
        found[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return found


async def export(session: AsyncSession, subject: Subject, with_files: bool) -> dict[str, Any]:
    """Everything stored about the citizen; files as metadata, or with their data in base64. Under
    "linked": which of their other chats are linked to which ticket and how they matched, and those
    chats' contacts, conversations and tickets."""
    linked = subject.linked
    numbers = {t.id: t.number for t in (*subject.tickets, *linked.tickets)}
    return {
        "contact": as_dict(subject.contact),
        "conversations": await _conversations_of(session, subject.conversations),
        "tickets": await _tickets_of(session, subject.tickets),
        "linked": {
            "chats": linked.described(numbers),
            "contacts": [as_dict(c) for c in linked.contacts],
            "conversations": await _conversations_of(session, linked.conversations),
            "tickets": await _tickets_of(session, linked.tickets),
        },
        "files": await _files(session, subject, with_files),
    }


async def _conversations_of(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> list[dict[str, Any]]:
    found = []
    for conversation in conversations:
        messages = await session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        )
        found.append(as_dict(conversation) | {"messages": [as_dict(m) for m in messages]})
    return found


async def _tickets_of(session: AsyncSession, tickets: Sequence[TicketRow]) -> list[dict[str, Any]]:
    return [as_dict(ticket) | await _ticket_parts(session, ticket.id) for ticket in tickets]


async def _ticket_parts(session: AsyncSession, ticket_id: int) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    for name, model in (("events", TicketEvent), ("notes", TicketNote), ("links", TicketLink)):
        rows = await session.scalars(select(model).where(model.ticket_id == ticket_id).order_by(model.id))
        parts[name] = [as_dict(row) for row in rows]
    return parts


async def _files(session: AsyncSession, subject: Subject, with_files: bool) -> list[dict[str, Any]]:
    chats = _web_chats(subject)
    if not chats:
        return []
    rows = await session.scalars(
        select(WebFile).where(WebFile.chat_id.in_(chats)).order_by(WebFile.created_at)
    )
    files = []
    for row in rows:
        described = as_dict(row, leave=("data",))
        if with_files:
            described["data_base64"] = base64.b64encode(row.data).decode()
        files.append(described)
    return files


def _web_chats(subject: Subject) -> list[str]:
    return [chat for channel, chat in subject.chats if channel == WEB]


async def anonymize(session: AsyncSession, subject: Subject, now: datetime | None = None) -> None:
    """Replace the citizen's texts and identifiers with MARKER, delete their files; idempotent.
    Their linked chats and the tickets their chats were linked to go the same way."""
    for contact in subject.contacts:
        await session.execute(
            update(Contact)
            .where(Contact.id == contact.id)
            .values(
                display_name=None if contact.display_name is None else MARKER, forgotten_at=now or utcnow()
            )
        )
    await _conversations(session, subject.conversation_ids)
    await _tickets(session, subject.ticket_ids)
    chats = subject.chats
    if chats:
        await _queues(session, chats)
    web = _web_chats(subject)
    if web:
        await session.execute(delete(WebFile).where(WebFile.chat_id.in_(web)))


async def _conversations(session: AsyncSession, ids: list[int]) -> None:
    if not ids:
        return
    await session.execute(update(Conversation).where(Conversation.id.in_(ids)).values(engine_state={}))
    await session.execute(
        update(Message).where(Message.conversation_id.in_(ids)).values(text=MARKER, attachments=[])
    )


async def _tickets(session: AsyncSession, ids: list[int]) -> None:
    if not ids:
        return
    of_them = TicketRow.id.in_(ids)
    await session.execute(
        update(TicketRow)
        .where(of_them)
        .values(description=MARKER, identification={}, transcript=[], snils=None, phone=None)
    )
    for column in (TicketRow.citizen_name, TicketRow.callback_time, TicketRow.rating_comment):
        await session.execute(update(TicketRow).where(of_them, column.is_not(None)).values({column: MARKER}))
    await session.execute(update(TicketNote).where(TicketNote.ticket_id.in_(ids)).values(text=MARKER))
    # the citizen's events may quote them (a rating's comment); the transitions themselves stay
    await session.execute(
        update(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.actor == "citizen", TicketEvent.note != "")
        .values(note=MARKER)
    )
    await session.execute(
        update(DeskPost).where(DeskPost.ticket_id.in_(ids)).values(text=MARKER, file_ref=None)
    )


async def _queues(session: AsyncSession, chats: list[tuple[str, str]]) -> None:
    """The raw updates and handoff jobs handled, the replies delivered or given up, and the dead
    letters of the chats.
    Work still pending is left alone: it is done with soon, and `forget` can be run again after."""
    keys = [f"{channel}:{chat}" for channel, chat in chats]
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.chat_key.in_(keys), InboxUpdate.done.is_(True))
        .values(payload=FORGOTTEN_PAYLOAD)
    )
    await session.execute(  # a handoff job's payload carries the description and identification
        update(HandoffJob)
        .where(tuple_(HandoffJob.channel, HandoffJob.chat_id).in_(chats), HandoffJob.done.is_(True))
        .values(payload=FORGOTTEN_PAYLOAD)
    )
    finished: ColumnElement[bool] = or_(OutboxMessage.sent.is_(True), OutboxMessage.failed.is_not(None))
    await session.execute(
        update(OutboxMessage)
        .where(tuple_(OutboxMessage.channel, OutboxMessage.chat_id).in_(chats), finished)
        .values(text=MARKER, media=None)
    )
    await session.execute(
        update(DeadLetter)
        .where(or_(DeadLetter.chat.in_(keys), tuple_(DeadLetter.channel, DeadLetter.chat).in_(chats)))
        .values(payload=FORGOTTEN_PAYLOAD)
    )
