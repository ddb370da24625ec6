"""The work — receiving by polling, the queues, the operators' group poster, the ticket watch,
retention — runs in the one process that holds the lease; the others serve the web and wait to
take it over.

A process that loses the lease while it lives (its connection to the database was cut: a restart
of PostgreSQL, a network split) stops the work at once, as a crash would, and waits for the lease
again; whoever takes it next starts the work from what is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from storage.leases import AnotherProcess, Lease

logger = logging.getLogger("okno.bots.leadership")

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]

TRY_EVERY = 1.0  # seconds between tries to take the lease, and between checks that it is still held
BACKOFF_MOST = 10.0  # after failures to reach the database, tries slow down to this


class Leadership:
    """Waits for the lease, then runs `work` until the process stops; again after a lost lease."""

    def __init__(self, lease: Lease, work: Loop, every: float = TRY_EVERY) -> None:
        self.lease, self.work, self.every = lease, work, every
        self.leading = asyncio.Event()  # set while the work runs here
        self.losses = 0  # times the lease was lost while the work ran

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while await self._wait_for_lease(stop):
                await self._lead(stop)
        finally:
            await self.lease.release()

    async def _wait_for_lease(self, stop: asyncio.Event) -> bool:
        wait, waiting_said = self.every, False
        while not stop.is_set():
            try:
                if await self.lease.acquire():
                    return await self._grace(stop)
                wait = self.every
                if not waiting_said:
                    logger.info("another process does the work: this one serves the web and waits")
                    waiting_said = True
            except AnotherProcess:
                raise
            except Exception:  # the database is away: try again later, never crash the process
                logger.exception("the lease could not be asked for; trying again in %.0f s", wait)
                wait = min(wait * 2, BACKOFF_MOST)
            await _sleep(stop, wait)
        return False

    async def _grace(self, stop: asyncio.Event) -> bool:
        """A holder that lost the lease without knowing (its connection cut, not its process) finds
        out within one check: until then the work waits, so that it never runs in two places."""
        if not self.lease.detect_seconds:  # a file lock is never lost while its process lives
            return True
        await _sleep(stop, self.every + self.lease.detect_seconds)
        return not stop.is_set() and await self.lease.held()

    async def _lead(self, stop: asyncio.Event) -> None:
        """The work until the process stops (it then finishes in order) or the lease is lost (it is
        cancelled at once: another process may start it within one check)."""
        logger.info("this process does the work now")
        ended = asyncio.Event()
        self.leading.set()
        work = asyncio.create_task(self.work(ended), name="work")
        keeper = asyncio.create_task(self._keep(stop), name="lease")
        try:
            await asyncio.wait({work, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done() and keeper.result():
                self.losses += 1
                logger.error("the lease was lost: the work stops here, and another process takes it")
                work.cancel()
            ended.set()
            with contextlib.suppress(asyncio.CancelledError):
                await work  # a failure of the work itself is raised here
        finally:
            self.leading.clear()
            keeper.cancel()
            work.cancel()

    async def _keep(self, stop: asyncio.Event) -> bool:
        """Check the lease until the process stops (False) or the lease is lost (True)."""
        while not stop.is_set():
            await _sleep(stop, self.every)
            if not stop.is_set() and not await self.lease.held():
                return True
        return False


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
