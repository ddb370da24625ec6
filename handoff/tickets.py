"""Tickets: statuses and the legal transitions between them, levels, and citizen-facing numbers."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from dialog.ticket_talk import parse_ticket_number, ticket_number
from handoff.errors import IllegalTransition

__all__ = ["TRANSITIONS", "Level", "Status", "check_transition", "parse_ticket_number", "ticket_number"]


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

    @property
    def label(self) -> str:
        """As the contact center's documents name the levels: «2 — оператор»."""
        return f"{int(self)} — {_LEVEL_NAMES[self]}"


_LEVEL_NAMES = {Level.BOT: "бот", Level.OPERATOR: "оператор", Level.SPECIALIST: "старший специалист"}


# Where each status may go. «Решено» may be reopened when the citizen writes again in time.
# «Новое» again means back in the queue: after a transfer to a specialist, or a reopened ticket
# whose operator is gone.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.CLOSED}),
    Status.IN_PROGRESS: frozenset({Status.NEEDS_INFO, Status.RESOLVED, Status.NEW}),
    Status.NEEDS_INFO: frozenset({Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.IN_PROGRESS, Status.NEW, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


def check_transition(before: str, after: str) -> None:
    """Raise IllegalTransition unless a ticket may go from `before` to `after` (staying put is fine)."""
    if before != after and Status(after) not in TRANSITIONS[Status(before)]:
        raise IllegalTransition(f"{Status(before).label} → {Status(after).label} is not allowed")
