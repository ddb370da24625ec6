"""Opening a ticket straight in the store, for tests of what works on tickets."""

from __future__ import annotations

from datetime import UTC, datetime

from dialog.ticket_talk import ticket_number
from dialog.tickets import Status, Ticket
from storage.records import EventRecord, NewTicket, PostRecord
from storage.tickets import TicketStore

DESK = "-1001500"
RULE = "refusal_without_reason"


async def open_ticket(store: TicketStore, key: str, thread: int | None = None) -> Ticket:
    """A new level-2 ticket with its card waiting to be posted; in topic `thread` if one is given."""
    new = NewTicket(
        source_key=key,
        channel="telegram",
        chat_id=f"chat-{key}",
        user_id=f"user-{key}",
        rule=RULE,
        level=2,
        priority=0,
        status=Status.NEW,
        identification={},
        description="",
        desk_chat_id=DESK,
        opened_at=datetime.now(UTC),
    )
    event = EventRecord("bot", None, "new", 2)
    ticket, created = await store.open_ticket(
        new, lambda sequence: ticket_number(10_000 + sequence), event, [PostRecord("card")]
    )
    assert created
    if thread is None:
        return ticket
    await store.set_topic(ticket.id, thread, thread + 1)
    found = await store.ticket(ticket.id)
    assert found is not None
    return found
