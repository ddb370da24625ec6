"""A ticket as the whole system reads it: a frozen record with its status and level."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

from dialog.messages import TicketKind


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    NEEDS_INFO = "needs_info"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """As citizens and operators read it."""
        return _LABELS[self]

    @property
    def active(self) -> bool:
        """People still owe the citizen an answer."""
        return self in ACTIVE


ACTIVE = frozenset({Status.NEW, Status.IN_PROGRESS, Status.NEEDS_INFO})

_LABELS = {
    Status.NEW: "новое",
    Status.IN_PROGRESS: "в работе",
    Status.NEEDS_INFO: "требуется уточнение",
    Status.RESOLVED: "решено",
    Status.CLOSED: "закрыто",
}


class Level(IntEnum):
    BOT = 1
    OPERATOR = 2
    SPECIALIST = 3

    @property
    def label(self) -> str:
        """As the contact center's documents name the levels: «2 — оператор»."""
        return f"{int(self)} — {_LEVEL_NAMES[self]}"


_LEVEL_NAMES = {Level.BOT: "бот", Level.OPERATOR: "оператор", Level.SPECIALIST: "старший специалист"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket:
    """A conversation handed to people: who, why, where it stands and where operators see it.

    Changed only as a whole: an action builds the ticket it wants with `dataclasses.replace` and the
    repository writes the difference if nobody changed the ticket since `version`."""

    id: int
    number: str
    source_key: str  # the update that opened it: a ticket is opened once
    channel: str
    chat_id: str
    user_id: str
    status: Status
    level: int
    priority: int
    rule: str
    opened_at: datetime
    status_changed_at: datetime
    version: int = 0
    kind: TicketKind = TicketKind.QUESTION
    contact_id: int | None = None
    citizen_name: str | None = None
    assignee: str | None = None
    assignee_name: str | None = None
    identification: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    desk_chat_id: str | None = None
    thread_id: int | None = None
    card_message_id: int | None = None
    reopened_from_id: int | None = None
    reopen_count: int = 0
    awaiting_question: bool = False  # the operator's next message asks the citizen
    sla_alerted: bool = False
    queue_told: int | None = None  # the queue position the citizen was told
    rating: int | None = None
    rating_comment: str | None = None
    callback_time: str | None = None  # «после 18», as the citizen put it
    category: str | None = None  # the problem's category: who has the expertise
    category_title: str | None = None
    snils: str | None = None  # the identifiers given at intake, normalized
    phone: str | None = None
    taken_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
