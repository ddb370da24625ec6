"""Changing tickets safely when several people act at once, and where a ticket stands in the queue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialog.messages import SystemEvent, TicketEventKind
from handoff.cards import system_post
from handoff.config import HandoffConfig
from handoff.tickets import check_transition
from storage.models import TicketRow
from storage.records import CitizenMessage, EventRecord, NewUpdate, PostRecord, TicketChange
from storage.tickets import TicketStore

logger = logging.getLogger("okno.handoff.tracking")

ATTEMPTS = 5
MSK = ZoneInfo("Europe/Moscow")

Build = Callable[[TicketRow], TicketChange | None]


def aware(moment: datetime | None) -> datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def event_update(ticket: TicketRow, kind: TicketEventKind, tag: str) -> NewUpdate:
    """A ticket event for the citizen's conversation, handled in order with their messages."""
    return _carried(
        ticket, SystemEvent(ticket.channel, ticket.chat_id, ticket.user_id, kind, ticket.number or ""), tag
    )


def _carried(ticket: TicketRow, event: SystemEvent, tag: str) -> NewUpdate:
    """The inbox row that feeds `event` into its chat's conversation, once per `tag`."""
    return NewUpdate(
        key=f"event:{ticket.id}:{event.kind.value}:{tag}",
        channel=event.channel,
        chat_key=f"{event.channel}:{event.chat_id}",
        payload=event.encode(),
    )


def finishing(
    row: TicketRow,
    values: dict[str, Any],
    event: EventRecord,
    note: str,
    told: CitizenMessage,
    kind: TicketEventKind,
    tag: str,
    card: str = "",
) -> TicketChange:
    """A change that ends a ticket: the note in its topic, the card (`card`: what changed it, see
    post_plan.PRESSED), the topic closed, the citizen told, and the bot handed the conversation back."""
    posts = [PostRecord("text", system_post(note)), PostRecord("card", card), PostRecord("close")]
    return TicketChange(row.id, row.version, values, event, posts, [told], [event_update(row, kind, tag)])


def chat_event(
    ticket: TicketRow, channel: str, chat_id: str, user_id: str, kind: TicketEventKind
) -> NewUpdate:
    """A ticket event for another chat linked to the ticket (a repeated request from there)."""
    return _carried(
        ticket, SystemEvent(channel, chat_id, user_id, kind, ticket.number or ""), f"{channel}:{chat_id}"
    )


class Tracker:
    def __init__(self, store: TicketStore, config: HandoffConfig, on_change: Callable[[], None]) -> None:
        self.store = store
        self.config = config
        self.on_change = on_change
        self.timezone = MSK

    async def change(self, ticket_id: int, build: Build) -> TicketRow | None:
        """Build a change from the ticket as it is now and apply it; rebuilt if someone was faster.

        `build` returns None when the change no longer makes sense; then nothing is written."""
        for _ in range(ATTEMPTS):
            ticket = await self.store.ticket(ticket_id)
            if ticket is None:
                return None
            change = build(ticket)
            if change is None:
                return None
            if "status" in change.values:  # every writer goes through here: no illegal move gets stored
                check_transition(ticket.status, str(change.values["status"]))
            updated = await self.store.apply(change)
            if updated is not None:
                self.on_change()
                return updated
        logger.warning("ticket %s changed %d times under us; giving up this change", ticket_id, ATTEMPTS)
        return None

    async def inject(self, update: NewUpdate) -> None:
        await self.store.inject([update])
        self.on_change()

    async def position(self, ticket: TicketRow) -> int:
        return await self.store.queue_position(ticket)

    def wait_text(self, position: int) -> str:
        minutes = max(1, round(position * self.config.minutes_per_ticket))
        if minutes < 60:
            return f"около {minutes} мин"
        hours, rest = divmod(minutes, 60)
        return f"около {hours} ч {rest:02d} мин"
