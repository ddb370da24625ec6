"""A nudge to the process doing the work, wherever it runs: rows stored by another process (a
webhook, a chat socket, an operator's action in the web inbox) are looked at now, rather than at
the work's next poll (1 s). Over Redis pub/sub, coalesced: one message for a burst of nudges."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from handoff.waiting import wait_for_either
from storage.fanout import Fanout

logger = logging.getLogger("okno.bots.nudges")

NUDGE = "nudge"  # the one kind of message on the channel
IDLE_SECONDS = 60.0


class Nudges:
    def __init__(self, fanout: Fanout, wake_here: Callable[[], None]) -> None:
        self.fanout, self.wake_here = fanout, wake_here
        self._pending = asyncio.Event()
        self.sent = self.received = 0

    def nudge(self) -> None:
        """Rows were stored here: tell every process (this one's own workers are woken directly)."""
        self._pending.set()

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.fanout.run(self._received, stop), name="nudges-in")
            tasks.create_task(self._publish(stop), name="nudges-out")

    def _received(self, _kind: str, _frame: dict[str, Any]) -> None:
        self.received += 1
        self.wake_here()

    async def _publish(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await wait_for_either(self._pending, stop, IDLE_SECONDS)
            if stop.is_set():
                return
            self._pending.clear()
            try:
                await self.fanout.publish(NUDGE, {})
                self.sent += 1
            except (RedisError, OSError) as exc:  # Redis away: the work's own poll finds the rows
                logger.debug("a nudge to the other processes was not sent: %s", exc)
