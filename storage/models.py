"""Database tables: contacts, conversations, messages, the inbound/outbound queues and tickets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base
from storage.records import CITIZENS_QUEUE

ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contact(Base):
    """A citizen as one channel knows them."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(256))
    blocked_bot: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # when their personal data was anonymized (`okno privacy forget` or the retention purge)
    forgotten_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Conversation(Base):
    """One chat with the bot, with the engine's state between messages."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    engine_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Message(Base):
    """Every message in and out, with what the engine decided and from which knowledge base."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # "in" or "out"
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[str | None] = mapped_column(String(256))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(16))
    topic: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    kb_revision: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InboxUpdate(Base):
    """A platform update stored before it is confirmed to the platform, handled from here."""

    __tablename__ = "inbox_updates"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_inbox_updates_pending", "done", "id"),
        Index("ix_inbox_updates_queue", "queue", "done", "id"),  # each worker reads its own queue
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128))  # e.g. "telegram:<bot id>:<update_id>"
    channel: Mapped[str] = mapped_column(String(32))
    chat_key: Mapped[str] = mapped_column(String(96))  # updates of one chat are handled in order
    part: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")  # storage/partitions.py
    # the worker that handles it, decided on receipt: the citizens' or the operators' groups' (desk)
    queue: Mapped[str] = mapped_column(String(16), default=CITIZENS_QUEUE, server_default=CITIZENS_QUEUE)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    done: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProcessedUpdate(Base):
    """The idempotency record: written in the same transaction as an update's effects."""

    __tablename__ = "processed_updates"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxMessage(Base):
    """A reply waiting to be delivered; sent in order per chat, marked when delivered."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_pending", "sent", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    part: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")  # storage/partitions.py
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[list[str]]] = mapped_column(JSON, default=list)  # [[id, label], ...]
    sent: Mapped[bool] = mapped_column(default=False)
    failed: Mapped[str | None] = mapped_column(String(256))  # why it was given up
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a file to send: {"kind", "ref"}
    # a place kept in the chat's order for what a handoff job will say (a status answer): the chat's
    # later replies wait until the job fills it or lets it go
    held: Mapped[bool] = mapped_column(default=False, server_default=false())
    # set, durably, before the first send: after a crash such a reply may already have arrived
    attempted: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketRow(Base):
    """A conversation handed to people: who, why, where it stands, and where operators see it."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("source_key"),
        Index("ix_tickets_chat", "channel", "chat_id", "status"),
        Index("ix_tickets_desk", "desk_chat_id", "thread_id"),
        Index("ix_tickets_snils", "snils", "status"),
        Index("ix_tickets_phone", "phone", "status"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(24), unique=True)  # set right after the insert
    source_key: Mapped[str] = mapped_column(String(160))  # the update that opened it: opened once
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    citizen_name: Mapped[str | None] = mapped_column(String(256))
    rule: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer, default=2)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)
    assignee: Mapped[str | None] = mapped_column(String(64))
    assignee_name: Mapped[str | None] = mapped_column(String(256))
    identification: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    desk_chat_id: Mapped[str | None] = mapped_column(String(32))
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    reopened_from_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    awaiting_question: Mapped[bool] = mapped_column(default=False)  # the operator's next message asks
    sla_alerted: Mapped[bool] = mapped_column(default=False)
    queue_told: Mapped[int | None] = mapped_column(Integer)  # the queue position the citizen was told
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="question", server_default="question")
    callback_time: Mapped[str | None] = mapped_column(String(200))  # «после 18», as the citizen put it
    category: Mapped[str | None] = mapped_column(String(64))  # the problem's category: who has the expertise
    category_title: Mapped[str | None] = mapped_column(String(128))
    # the identifiers given at intake, normalized: a request from another chat with one of them joins
    snils: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=0)  # every change checks and bumps it
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketLink(Base):
    """Another chat of the same citizen whose repeated request joined an open ticket: what they write
    there goes to the ticket too."""

    __tablename__ = "ticket_links"
    __table_args__ = (
        UniqueConstraint("ticket_id", "channel", "chat_id"),
        Index("ix_ticket_links_chat", "channel", "chat_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    matched: Mapped[str] = mapped_column(String(16))  # "snils" or "phone": what proved it the same citizen
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketEvent(Base):
    """The audit trail: every transition of a ticket, who made it and when."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))  # "bot", "citizen", or an operator's id
    actor_name: Mapped[str | None] = mapped_column(String(256))
    before: Mapped[str | None] = mapped_column(String(16))
    after: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HandoffJob(Base):
    """Work for the handoff side, written in the same transaction as the turn that asked for it."""

    __tablename__ = "handoff_jobs"
    __table_args__ = (UniqueConstraint("key"), Index("ix_handoff_jobs_pending", "done", "id"))

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160))
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    part: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")  # storage/partitions.py
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    done: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PartitionHandover(Base):
    """Who last took a partition (storage/partition_leases.py); none once it was given back with
    nothing of it in hand. Its next holder starts at once then, else it waits out the old holder."""

    __tablename__ = "partition_handovers"

    part: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    holder: Mapped[str | None] = mapped_column(String(64))


class DeskPost(Base):
    """Something to show operators in a ticket's topic; posted through the group's shaped queue."""

    __tablename__ = "desk_posts"
    __table_args__ = (Index("ix_desk_posts_pending", "done", "desk_chat_id", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    desk_chat_id: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # text, prompt, alert, a file kind, card, close, reopen
    text: Mapped[str] = mapped_column(Text, default="")
    file_ref: Mapped[str | None] = mapped_column(String(256))
    done: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Cursor(Base):
    """Where a receiver stands in a platform's event stream (VK's long-poll ts), kept across restarts."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebFile(Base):
    """A file a web-chat citizen uploaded or an operator sent them, served back by its random ref."""

    __tablename__ = "web_files"
    __table_args__ = (Index("ix_web_files_created", "created_at"),)  # the retention job's sweep

    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), index=True)  # whose conversation it belongs to
    name: Mapped[str] = mapped_column(String(256), default="")
    mime_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EndedVisitor(Base):
    """A web chat visitor token the citizen ended («Завершить чат»): by its hash, never accepted again."""

    __tablename__ = "web_ended_visitors"

    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OperatorAccount(Base):
    """Someone who signs in to the web inbox: an operator, a specialist or a supervisor."""

    __tablename__ = "operator_accounts"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))  # operator, specialist, supervisor
    password_hash: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(default=False)
    # signed sessions carry it; a new password, disabling or enabling bumps it and ends older sessions
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketNote(Base):
    """A private note on a ticket, for operators only (written in the web inbox or the group's topic)."""

    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeadLetter(Base):
    """Work given up for a reason retrying will not fix: an update, a handoff job or a reply.

    The work itself stays where it was (marked done or failed); this row says why, how many
    times it was tried, and what it was, so `okno dlq retry` can put it back."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # update, job, reply
    ref_id: Mapped[int] = mapped_column(ID)  # the inbox row, handoff job or outbox row
    key: Mapped[str] = mapped_column(String(160))
    channel: Mapped[str] = mapped_column(String(32))
    chat: Mapped[str] = mapped_column(String(96))
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonalDataAccess(Base):
    """Who saw, exported or erased a citizen's unmasked personal data, and when (152-ФЗ)."""

    __tablename__ = "personal_data_access"
    __table_args__ = (Index("ix_personal_data_access_contact", "contact_id", "at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(128))  # an OS user, `--actor`, or an inbox login
    action: Mapped[str] = mapped_column(String(16))  # export, view, forget, purge
    contact_id: Mapped[int | None] = mapped_column(ID)  # no foreign key: the record outlives nothing
    subject: Mapped[str] = mapped_column(String(160))  # telegram:12345 or a ticket number
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
