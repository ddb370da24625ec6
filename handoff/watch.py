"""The ticket watch: supervisors called to tickets nobody takes, stale clarifications closed,
and citizens told when their place in the queue moves a lot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from dialog.messages import TicketEventKind
from dialog.tickets import Status, Ticket
from handoff import texts
from handoff.config import HandoffConfig
from handoff.hours import Schedule
from handoff.ports import TicketRepository
from handoff.tracking import Tracker, finishing
from storage.records import CitizenMessage, EventRecord, PostRecord, TicketChange

logger = logging.getLogger("okno.handoff.watch")

INTERVAL_SECONDS = 15.0


class TicketWatch:
    def __init__(
        self,
        store: TicketRepository,
        config: HandoffConfig,
        schedules: dict[int, Schedule],
        tracker: Tracker,
        clock: Callable[[], datetime],
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self.store = store
        self.config = config
        self.schedules = schedules
        self.tracker = tracker
        self.clock = clock
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.check()
            except Exception:  # the watch must keep watching; the next round tries again
                logger.exception("the ticket watch failed this round")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    async def check(self) -> None:
        now = self.clock()
        waiting = await self.store.waiting()
        for ticket in waiting:
            schedule = self.schedules[min(ticket.level, 3)]
            if schedule.is_open(now):
                # the wait counts from when people were there to take it, not from a night in the queue
                await self._sla(ticket, now, schedule.next_opening(ticket.status_changed_at))
        await self._queue_moves(waiting, now)
        limit = now - timedelta(days=self.config.needs_info_days)
        for ticket in await self.store.with_status(Status.NEEDS_INFO, limit):
            await self._expire(ticket)

    async def _sla(self, ticket: Ticket, now: datetime, waiting_since: datetime) -> None:
        late = waiting_since < now - timedelta(minutes=self.config.take_sla_minutes)
        if ticket.sla_alerted or not late:
            return
        minutes = f"{self.config.take_sla_minutes:g}"
        alert = PostRecord("alert", texts.SLA_ALERT.format(number=ticket.number, minutes=minutes))
        alert = PostRecord("alert", alert.text, ",".join(sorted(self.config.supervisors)))
        await self.store.post(ticket, [alert])
        await self.store.mark_sla_alerted(ticket.id)
        logger.warning("ticket %s waits over %s min; supervisors called", ticket.number, minutes)
        self.tracker.on_change()

    async def _queue_moves(self, waiting: list[Ticket], now: datetime) -> None:
        for ticket in waiting:
            if not self.schedules[min(ticket.level, 3)].is_open(now) or ticket.queue_told is None:
                continue
            position = await self.tracker.position(ticket)
            told = ticket.queue_told
            if position < told and (told - position >= 5 or position * 2 <= told):
                wait = self.tracker.wait_text(position)
                message = texts.QUEUE_MOVED.format(number=ticket.number, position=position, wait=wait)
                await self.store.send_to_citizen(
                    ticket.channel, ticket.chat_id, [CitizenMessage(message, outcome="handoff")]
                )
                await self.store.mark_queue_told(ticket.id, position)
                self.tracker.on_change()

    async def _expire(self, ticket: Ticket) -> None:
        days = f"{self.config.needs_info_days:g}"

        def close(row: Ticket) -> TicketChange | None:
            if row.status != Status.NEEDS_INFO:
                return None
            note = texts.EXPIRED_NOTE.format(days=days)
            now = self.clock()
            closed = replace(row, status=Status.CLOSED, closed_at=now, status_changed_at=now)
            event = EventRecord("bot", row.status, Status.CLOSED, row.level, note)
            told = CitizenMessage(texts.EXPIRED.format(number=row.number), outcome="handoff")
            return finishing(row, closed, event, note, told, TicketEventKind.CLOSED, "expired")

        await self.tracker.change(ticket.id, close)
