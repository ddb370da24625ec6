"""Where a ticket's status may go, and citizen-facing ticket numbers."""

from __future__ import annotations

from dialog.ticket_talk import parse_ticket_number, ticket_number
from dialog.tickets import Status
from handoff.errors import IllegalTransition

__all__ = ["TRANSITIONS", "check_transition", "parse_ticket_number", "ticket_number"]


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


def check_transition(before: Status, after: Status) -> None:
    """Raise IllegalTransition unless a ticket may go from `before` to `after` (staying put is fine)."""
    if before != after and after not in TRANSITIONS[before]:
        raise IllegalTransition(f"{before.label} → {after.label} is not allowed")
