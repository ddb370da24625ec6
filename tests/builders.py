"""A ticket for tests that need one without a database: the fields that matter given, the rest plain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dialog.tickets import Status, Ticket

OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def a_ticket(**fields: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": 1,
        "number": "10001-1",
        "source_key": "telegram:1:1",
        "channel": "telegram",
        "chat_id": "1",
        "user_id": "1",
        "status": Status.NEW,
        "level": 2,
        "priority": 0,
        "rule": "explicit_request",
        "opened_at": OPENED,
        "status_changed_at": OPENED,
    }
    return Ticket(**values | fields)
