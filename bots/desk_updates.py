"""The desk worker: updates from the operators' groups, filed in a queue of their own when received,
handed to the operators' actions.

Each update is decoded once. One topic's events (one ticket's) run in order, different topics side by
side, so a slow action holds up only its own ticket; the citizens' worker is never held up by either.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bots.metrics import Metrics
from handoff.polling import QueueWorker
from handoff.ports import DeskEvent
from storage.models import InboxUpdate
from storage.outage import Outage, left_for_next_start, until_back
from storage.records import DESK_QUEUE
from storage.repositories import Repository

logger = logging.getLogger("okno.bots.desk_updates")

BATCH = 200
CONCURRENCY = 16  # operators' topics handled at once


@dataclass(frozen=True, slots=True)
class DeskUpdate:
    """An update from an operators' group, decoded once."""

    order_key: str  # updates with the same key are handled in order (one ticket's topic)
    event: DeskEvent | None  # None: nothing for the desk to do (a bot's post, a malformed update)


def decode_telegram(payload: dict[str, Any]) -> DeskUpdate:
    """A Telegram group's update: its topic and the desk's event in it."""
    from adapters.telegram.desk import decode_desk, desk_topic  # noqa: PLC0415 - aiogram only with a token

    return DeskUpdate(desk_topic(payload), decode_desk(payload))


class DeskWorker:
    def __init__(
        self,
        repository: Repository,
        handle: Callable[[DeskEvent], Awaitable[None]],
        decode: Callable[[dict[str, Any]], DeskUpdate] = decode_telegram,
    ) -> None:
        self.repository = repository
        self.handle = handle  # the operators' actions
        self.decode = decode
        self.outage = Outage("desk inbox", logger)
        self.queue = QueueWorker(
            functools.partial(repository.pending_updates, DESK_QUEUE),
            functools.partial(repository.updates_among, DESK_QUEUE),
            BATCH,
            self.outage,
            functools.partial(repository.settled_updates, DESK_QUEUE),
        )
        self.metrics = Metrics()  # the wiring shares one with /metrics

    def wake(self) -> None:
        self.queue.wake()

    async def run(self, stop: asyncio.Event) -> None:
        """Handle the groups' stored updates until `stop`, then what was received before it. While the
        database is away the same updates wait: nothing is skipped."""
        await self.queue.run(stop, self.handle_batch)
        with left_for_next_start(logger, "the operators' updates not handled yet"):
            while rows := await self.queue.rest():
                await self.handle_batch(rows)

    async def handle_batch(self, rows: list[InboxUpdate]) -> None:
        """Every topic's events in order, topics side by side; then the rows are done. An outage is
        waited out where it happens (the event is tried again), so a batch never runs twice."""
        topics: dict[str, list[DeskEvent]] = {}
        for row in rows:
            self.metrics.received.labels(row.channel).inc()
            update = self._decode(row)
            if update is not None and update.event is not None:
                topics.setdefault(update.order_key, []).append(update.event)
        limit = asyncio.Semaphore(CONCURRENCY)
        await asyncio.gather(*(self._run_topic(events, limit) for events in topics.values()))
        done = functools.partial(self.repository.mark_updates_done, [row.id for row in rows])
        await until_back(done, self.outage)

    def _decode(self, row: InboxUpdate) -> DeskUpdate | None:
        try:
            return self.decode(row.payload)
        except Exception:  # one unreadable update must not hold up the groups
            logger.exception("update %s from an operators' group could not be read; skipped", row.key)
            return None

    async def _run_topic(self, events: list[DeskEvent], limit: asyncio.Semaphore) -> None:
        async with limit:
            for event in events:
                try:
                    await until_back(functools.partial(self.handle, event), self.outage)
                except Exception:  # one operator's update must not hold up the group
                    logger.exception("an update from the operators' group failed and was skipped")
