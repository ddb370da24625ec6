"""The tickets table's rows as the frozen `Ticket` the rest of the system reads, and back."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dialog.messages import TicketKind
from dialog.tickets import Status, Ticket
from storage.db import as_utc
from storage.models import TicketRow

_FIELDS = tuple(f.name for f in dataclasses.fields(Ticket))
_SET_BY_STORE = ("id", "version")  # an action never writes these: the row's own and the version check's


def ticket_of(row: TicketRow) -> Ticket:
    """The row as the rest of the system reads it; times are in UTC (SQLite forgets the zone)."""
    values = {name: getattr(row, name) for name in _FIELDS}
    for name, value in values.items():
        if isinstance(value, datetime):
            values[name] = as_utc(value)
    values |= {"status": Status(row.status), "kind": TicketKind(row.kind), "number": row.number or ""}
    return Ticket(**values | {"identification": dict(row.identification or {})})


def tickets_of_rows(rows: Sequence[TicketRow]) -> list[Ticket]:
    return [ticket_of(row) for row in rows]


def changed_values(before: Ticket, after: Ticket) -> dict[str, Any]:
    """The columns an action changed, as the database takes them."""
    values: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(after, name)
        if name not in _SET_BY_STORE and value != getattr(before, name):
            values[name] = dict(value) if name == "identification" else value
    return values


def maybe_ticket(row: TicketRow | None) -> Ticket | None:
    return None if row is None else ticket_of(row)
