"""A nudge to the processes that have the work, wherever they run: rows stored by another process (a
webhook, a chat socket, an operator's action in the web inbox) are looked at now, rather than at
the workers' next poll (1 s). Over Redis pub/sub, coalesced: one message for a burst of nudges.

A nudge for some chats' partitions wakes only the processes that have one of them; a nudge for
everyone (rows of many chats, a ticket changed) wakes every process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from redis.exceptions import RedisError

from handoff.waiting import wait_for_either
from storage.fanout import Fanout

logger = logging.getLogger("okno.bots.nudges")

NUDGE = "nudge"  # the one kind of message on the channel
IDLE_SECONDS = 60.0


class Nudges:
    def __init__(
        self,
        fanout: Fanout,
        wake_here: Callable[[], None],
        concerns: Callable[[list[int]], bool] = lambda _: True,
    ) -> None:
        self.fanout, self.wake_here, self.concerns = fanout, wake_here, concerns
        self._pending = asyncio.Event()
        self._parts: set[int] = set()
        self._everyone = False
        self.sent = self.received = 0

    def nudge(self, parts: Iterable[int] | None = None) -> None:
        """Rows were stored here, of these partitions' chats (None: of any): tell the processes that
        have them (this one's own workers are woken directly)."""
        if parts is None:
            self._everyone = True
        else:
            self._parts.update(parts)
        self._pending.set()

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.fanout.run(self._received, stop), name="nudges-in")
            tasks.create_task(self._publish(stop), name="nudges-out")

    def _received(self, _kind: str, frame: dict[str, Any]) -> None:
        self.received += 1
        parts = frame.get("parts")
        if not isinstance(parts, list) or self.concerns(parts):
            self.wake_here()

    async def _publish(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await wait_for_either(self._pending, stop, IDLE_SECONDS)
            if stop.is_set():
                return
            self._pending.clear()
            frame: dict[str, Any] = {} if self._everyone else {"parts": sorted(self._parts)}
            self._parts.clear()
            self._everyone = False
            try:
                await self.fanout.publish(NUDGE, frame)
                self.sent += 1
            except (RedisError, OSError) as exc:  # Redis away: the work's own poll finds the rows
                logger.debug("a nudge to the other processes was not sent: %s", exc)
