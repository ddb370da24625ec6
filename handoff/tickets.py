"""Tickets: statuses, the transitions between them, the audit trail, and citizen-facing numbers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import IntEnum, StrEnum

from dialog.ticket_talk import parse_ticket_number, ticket_number
from handoff.errors import IllegalTransition

__all__ = ["Level", "Status", "Ticket", "Transition", "parse_ticket_number", "ticket_number"]


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


# Where each status may go. «Решено» may be reopened when the citizen writes again in time.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.NEEDS_INFO, Status.RESOLVED, Status.NEW}),
    Status.NEEDS_INFO: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Transition:
    """One line of the audit trail."""

    actor: str  # "bot", "citizen", or an operator's id
    at: datetime
    before: Status
    after: Status
    note: str = ""


@dataclass(frozen=True, slots=True)
class Ticket:
    number: str
    channel: str
    contact_id: int
    rule: str
    level: Level
    status: Status
    opened_at: datetime
    assignee: str | None = None
    trail: tuple[Transition, ...] = ()

    def move(self, to: Status, actor: str, at: datetime, note: str = "") -> Ticket:
        """The ticket in its new status, with the move recorded; illegal moves are refused."""
        if to not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"ticket {self.number}: {self.status.label} → {to.label} is not allowed")
        assignee = None if to is Status.NEW else self.assignee
        return replace(
            self,
            status=to,
            assignee=assignee,
            trail=(*self.trail, Transition(actor, at, self.status, to, note)),
        )

    def take(self, operator: str, at: datetime) -> Ticket:
        if self.status is not Status.NEW:
            raise IllegalTransition(f"ticket {self.number} is {self.status.label}, not new")
        return replace(self.move(Status.IN_PROGRESS, operator, at), assignee=operator)

    def escalate(self, actor: str, at: datetime) -> Ticket:
        """To a senior specialist: the level rises and the ticket waits for someone to take it."""
        if self.level is Level.SPECIALIST:
            raise IllegalTransition(f"ticket {self.number} is already with a specialist")
        moved = (
            self.move(Status.NEW, actor, at, note="передано специалисту")
            if self.status is not Status.NEW
            else self
        )
        return replace(moved, level=Level.SPECIALIST, assignee=None)
