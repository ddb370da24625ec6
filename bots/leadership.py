"""Work under a lease runs while this process holds it. Two kinds use it (bots/runner.py): the work
that must be single — receiving by polling, the operators' group poster, the ticket watch, retention
— under one lease for the whole service; and the chats' queues, under this process's share of the
chats' partitions (storage/partition_leases.py).

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

from sqlalchemy.exc import SQLAlchemyError

from adapters.stopping import sleep_unless
from storage.leases import AnotherProcess, Lease

logger = logging.getLogger("okno.bots.leadership")

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]

TRY_EVERY = 0.5  # seconds between tries to take the lease, and between checks that it is still held
BACKOFF_MOST = 10.0  # after failures to reach the database, tries slow down to this
# a holder that lost the lease goes on this long while it asks for it again: a restart of PostgreSQL
# (every connection lost, nobody else can take the lease either) then costs the work nothing
REGAIN_SECONDS = 4.0


class Leadership:
    """Waits for the lease, then runs `work` until the process stops; again after a lost lease.

    Never in two places: a holder that loses the lease goes on for at most `REGAIN_SECONDS` after
    it finds out (within one check) while it asks for the lease again, and stops at once if another
    process has it; a new holder that has seen another one waits out all of that before it starts.
    One gap is left open: a process that starts just then and finds the lease free on its first try
    does not wait (a fresh cluster must not wait for nobody), so the two may overlap for up to one
    check of the old holder (0.5 s).
    """

    def __init__(
        self,
        lease: Lease,
        work: Loop,
        every: float = TRY_EVERY,
        regain: float = REGAIN_SECONDS,
        what: str = "the work",
    ) -> None:
        self.lease, self.work, self.every, self.regain, self.what = lease, work, every, regain, what
        self.leading = asyncio.Event()  # set while the work runs here
        self.losses = 0  # times the lease was lost while the work ran (and not regained in time)
        self.contested = False  # another process held the lease, or this one lost it, since the start

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
                self.contested = True
                wait = self.every
                if not waiting_said:
                    logger.info("another process does %s: this one waits to take it over", self.what)
                    waiting_said = True
            except AnotherProcess:
                raise
            except (SQLAlchemyError, OSError, TimeoutError) as exc:  # the database is away: try again later
                logger.warning("the lease could not be asked for (%s); trying again in %.0f s", exc, wait)
                wait = min(wait * 2, BACKOFF_MOST)
            await sleep_unless(stop, wait)
        return False

    @property
    def grace(self) -> float:
        """How long a new holder waits: the old one's check, its time to find out, and its regain."""
        return self.every + self.lease.detect_seconds + self.regain

    async def _grace(self, stop: asyncio.Event) -> bool:
        """A process that found the lease free at its start has seen no holder to wait for."""
        if not self.lease.detect_seconds or not self.contested:  # a file lock is never lost unknowingly
            return True
        await sleep_unless(stop, self.grace)
        return not stop.is_set() and await self.lease.held()

    async def _lead(self, stop: asyncio.Event) -> None:
        """The work until the process stops (it then finishes in order) or the lease is lost and not
        regained in time (it is cancelled at once, as a crash would end it)."""
        logger.info("this process does %s now", self.what)
        ended = asyncio.Event()
        self.leading.set()
        work = asyncio.create_task(self.work(ended), name="work")
        try:
            while not work.done():
                keeper = asyncio.create_task(self._keep(stop), name="lease")
                await asyncio.wait({work, keeper}, return_when=asyncio.FIRST_COMPLETED)
                keeper.cancel()
                if work.done() or not keeper.result():  # the work failed, or the process stops
                    break
                if not await self._regained(stop):
                    self.losses += 1
                    logger.error("the lease was lost: %s stops here, and another process takes it", self.what)
                    work.cancel()
            ended.set()
            with contextlib.suppress(asyncio.CancelledError):
                await work  # a failure of the work itself is raised here
        finally:
            self.leading.clear()
            work.cancel()

    async def _keep(self, stop: asyncio.Event) -> bool:
        """Check the lease until the process stops (False) or the lease is lost (True)."""
        while not stop.is_set():
            await sleep_unless(stop, self.every)
            if not stop.is_set() and not await self.lease.held():
                return True
        return False

    async def _regained(self, stop: asyncio.Event) -> bool:
        """Ask for the lost lease again for up to `regain` seconds: False as soon as another process
        holds it, or when the time is up."""
        self.contested = True
        logger.warning(
            "the lease was lost; the work goes on for %.0f s while it is asked for again", self.regain
        )
        deadline = asyncio.get_running_loop().time() + self.regain
        while not stop.is_set() and asyncio.get_running_loop().time() < deadline:
            try:
                async with asyncio.timeout(max(0.1, deadline - asyncio.get_running_loop().time())):
                    if await self.lease.acquire():
                        logger.info("the lease is held again: the work goes on")
                        return True
                return False  # another process holds it now
            except (SQLAlchemyError, OSError, TimeoutError):
                await sleep_unless(stop, self.every)
        return False
