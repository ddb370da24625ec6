"""A citizen written straight into the database, everywhere their data is kept, for the privacy tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Contact,
    Conversation,
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
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
RECENT = NOW - timedelta(days=10)
SECRET = "Иванов Иван, СНИЛС 112-233-445 95"


async def chat_of(session: AsyncSession, channel: str, user: str, at: datetime, number: str) -> Contact:
    """A contact with a conversation (a message each way), the raw update, the reply, a handoff job
    and (on the web) a file — all written at `at`, all naming them."""
    contact = Contact(channel=channel, external_id=user, display_name="Иван Иванов", created_at=at)
    session.add(contact)
    await session.flush()
    chat = Conversation(
        channel=channel, chat_id=user, contact_id=contact.id, engine_state={"snils": "11223344595"}
    )
    chat.started_at = chat.last_activity_at = at
    session.add(chat)
    await session.flush()
    session.add_all(
        [
            Message(
                conversation_id=chat.id,
                direction="in",
                text=SECRET,
                created_at=at,
                attachments=[{"ref": "x"}],
            ),
            Message(conversation_id=chat.id, direction="out", text="Ответ", created_at=at, topic="t"),
            InboxUpdate(
                key=f"{channel}:{number}",
                channel=channel,
                chat_key=f"{channel}:{user}",
                payload={"text": SECRET},
                done=True,
                received_at=at,
            ),
            OutboxMessage(
                channel=channel, chat_id=user, text=f"Ответ для {SECRET}", sent=True, created_at=at
            ),
            HandoffJob(
                key=f"job:{number}",
                channel=channel,
                chat_id=user,
                user_id=user,
                kind="open",
                payload={"description": SECRET},
                done=True,
            ),
        ]
    )
    if channel == "web":
        scan = WebFile(ref=f"ref{number}", chat_id=user, name="скан.jpg", mime_type="image/jpeg", size=3)
        scan.data, scan.created_at = b"abc", at
        session.add(scan)
    return contact


async def citizen(
    session: AsyncSession, channel: str, user: str, at: datetime, number: str
) -> tuple[Contact, TicketRow]:
    """A chat (chat_of) with a ticket with an event, a note, a link and a topic post."""
    contact = await chat_of(session, channel, user, at, number)
    ticket = TicketRow(
        number=number, source_key=f"src:{number}", channel=channel, chat_id=user, user_id=user,
        contact_id=contact.id, citizen_name="Иван", rule="explicit_request", level=2, status="closed",
        identification={"snils": "112-233-445 95"}, description=SECRET, transcript=[{"text": SECRET}],
        snils="11223344595", phone="79001234567", callback_time="после 18", rating=5,
        rating_comment=SECRET, opened_at=at, taken_at=at + timedelta(minutes=3),
        resolved_at=at + timedelta(minutes=30), closed_at=at + timedelta(minutes=31), status_changed_at=at,
    )  # fmt: skip
    session.add(ticket)
    await session.flush()
    session.add_all(
        [
            TicketEvent(ticket_id=ticket.id, actor="bot", after="new", level=2, at=at),
            TicketEvent(ticket_id=ticket.id, actor="citizen", after="closed", level=2, note=SECRET, at=at),
            TicketNote(ticket_id=ticket.id, author="7", author_name="Анна", text=SECRET, created_at=at),
            TicketLink(ticket_id=ticket.id, channel="vk", chat_id="55", user_id="55", matched="snils"),
            DeskPost(desk_chat_id="-100", ticket_id=ticket.id, kind="text", text=SECRET, file_ref="f"),
        ]
    )
    return contact, ticket
