"""Plain values the repositories take: updates to store and turns to record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialog.messages import TicketKind
from dialog.tickets import Status, Ticket

# the inbox's queues, each read by its own worker: citizens' chats, and the operators' groups
CITIZENS_QUEUE = "citizens"
DESK_QUEUE = "desk"


@dataclass(frozen=True, slots=True)
class NewUpdate:
    key: str
    channel: str
    chat_key: str
    payload: dict[str, Any]
    queue: str = CITIZENS_QUEUE


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message to store: inbound from a citizen or outbound from the bot."""

    text: str
    payload: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    platform_message_id: str | None = None
    outcome: str | None = None
    topic: str | None = None
    rule: str | None = None
    confidence: float | None = None
    kb_revision: str | None = None
    buttons: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class JobRecord:
    """Work a turn asks of the handoff side (open a ticket, relay a message, …)."""

    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """Everything one handled update changes, written in one transaction."""

    update_id: int | None  # the inbox row, if the update came through the inbox
    update_key: str
    channel: str
    chat_id: str
    user_id: str
    display_name: str | None
    inbound: MessageRecord
    outbound: Sequence[MessageRecord]
    engine_state: dict[str, Any]
    keep_state: bool = False  # a fixed notice leaves the conversation where it was
    jobs: Sequence[JobRecord] = ()  # work for the handoff side, committed with the turn


@dataclass(frozen=True, slots=True)
class Delivery:
    """A reply the platform accepted."""

    outbox_id: int
    message_id: int | None  # the stored outbound message
    platform_id: str | None  # the platform's id for it


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """Work a turn asked of the handoff side, waiting to be done."""

    id: int
    key: str  # the update that asked for it: a job run twice opens one ticket
    channel: str
    chat_id: str
    user_id: str
    kind: str
    payload: dict[str, Any]
    part: int = 0  # the chat's partition (storage/partitions.py)


@dataclass(frozen=True, slots=True)
class QueuedPost:
    """Something waiting to be posted in a ticket's topic (see PostRecord)."""

    id: int
    desk_chat_id: str
    ticket_id: int
    kind: str
    text: str = ""
    file_ref: str | None = None


@dataclass(frozen=True, slots=True)
class NewTicket:
    source_key: str
    channel: str
    chat_id: str
    user_id: str
    rule: str
    level: int
    priority: int
    status: Status
    identification: dict[str, str]
    description: str
    desk_chat_id: str | None
    opened_at: datetime
    reopened_from_id: int | None = None
    kind: TicketKind = TicketKind.QUESTION
    callback_time: str | None = None
    category: str | None = None
    category_title: str | None = None
    snils: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A line of a ticket's audit trail."""

    actor: str
    before: str | None
    after: str
    level: int
    note: str = ""
    actor_name: str | None = None
    at: datetime | None = None  # when it happened; set when read back


@dataclass(frozen=True, slots=True)
class PostRecord:
    """Something for the ticket's topic: kind text/photo/document/card/alert."""

    kind: str
    text: str = ""
    file_ref: str | None = None


@dataclass(frozen=True, slots=True)
class CitizenMessage:
    """A message from people (or about the ticket) to the citizen, through the outbox."""

    text: str
    buttons: list[list[str]] = field(default_factory=list)
    media: dict[str, Any] | None = None
    outcome: str = "operator"  # what people wrote; notices about the ticket say "handoff"
    slot: int | None = None  # the outbox place held for it in the chat's order, if any


@dataclass(frozen=True, slots=True)
class TicketChange:
    """Everything one action on a ticket changes, written in one transaction.

    `after` is the ticket the action wants (built with `dataclasses.replace` from `before`); the
    fields that differ are written only if the ticket is still at `before.version` — someone else
    may have acted first. None: the ticket stays as it is and only the rest is written.
    """

    before: Ticket
    after: Ticket | None = None
    event: EventRecord | None = None
    posts: Sequence[PostRecord] = ()
    to_citizen: Sequence[CitizenMessage] = ()
    inbox: Sequence[NewUpdate] = ()
