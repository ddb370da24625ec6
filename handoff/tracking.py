"""Changing tickets safely when several people act at once, and where a ticket stands in the queue."""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from dialog.messages import SystemEvent, TicketEventKind
from dialog.tickets import Ticket
from handoff.cards import system_post
from handoff.config import HandoffConfig
from handoff.ports import TicketRepository
from handoff.tickets import check_transition
from storage.records import CitizenMessage, EventRecord, NewUpdate, PostRecord, TicketChange

logger = logging.getLogger("okno.handoff.tracking")

ATTEMPTS = 5
MSK = ZoneInfo("Europe/Moscow")

Build = Callable[[Ticket], TicketChange | None]


def event_update(ticket: Ticket, kind: TicketEventKind, tag: str) -> NewUpdate:
    """A ticket event for the citizen's conversation, handled in order with their messages."""
    return _carried(
        ticket, SystemEvent(ticket.channel, ticket.chat_id, ticket.user_id, kind, ticket.number or ""), tag
    )


def _carried(ticket: Ticket, event: SystemEvent, tag: str) -> NewUpdate:
    """The inbox row that feeds `event` into its chat's conversation, once per `tag`."""
    return NewUpdate(
        key=f"event:{ticket.id}:{event.kind.value}:{tag}",
        channel=event.channel,
        chat_key=f"{event.channel}:{event.chat_id}",
        payload=event.encode(),
    )


def finishing(
    row: Ticket,
    finished: Ticket,
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
    return TicketChange(row, finished, event, posts, [told], [event_update(row, kind, tag)])


def chat_event(ticket: Ticket, channel: str, chat_id: str, user_id: str, kind: TicketEventKind) -> NewUpdate:
    """A ticket event for another chat linked to the ticket (a repeated request from there)."""
    return _carried(
        ticket, SystemEvent(channel, chat_id, user_id, kind, ticket.number or ""), f"{channel}:{chat_id}"
    )


class Tracker:
    def __init__(self, store: TicketRepository, config: HandoffConfig, on_change: Callable[[], None]) -> None:
        self.store = store
        self.config = config
        self.on_change = on_change
        self.timezone = MSK

    async def change(self, ticket_id: int, build: Build) -> Ticket | None:
        """Build a change from the ticket as it is now and apply it; rebuilt if someone was faster.

        `build` returns None when the change no longer makes sense; then nothing is written."""
        for _ in range(ATTEMPTS):
            ticket = await self.store.ticket(ticket_id)
            if ticket is None:
                return None
            change = build(ticket)
            if change is None:
                return None
            if change.after is not None:  # every writer goes through here: no illegal move gets stored
                check_transition(ticket.status, change.after.status)
            updated = await self.store.apply(change)
            if updated is not None:
                self.on_change()
                return updated
        logger.warning("ticket %s changed %d times under us; giving up this change", ticket_id, ATTEMPTS)
        return None

    async def inject(self, update: NewUpdate) -> None:
        await self.store.inject([update])
        self.on_change()

    async def position(self, ticket: Ticket) -> int:
        return await self.store.queue_position(ticket)

    def wait_text(self, position: int) -> str:
        minutes = max(1, round(position * self.config.minutes_per_ticket))
        if minutes < 60:
            return f"около {minutes} мин"
        hours, rest = divmod(minutes, 60)
        return f"около {hours} ч {rest:02d} мин"
