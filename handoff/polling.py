"""The loop every queue worker runs: a table's pending rows in id order, handed on in batches; idle
until woken or `POLL_SECONDS` pass; a database away waited out, never fatal.

The inbox, the outbox and the handoff jobs each run one, with their own way of handling a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from handoff.waiting import wait_for_either
from storage.outage import Outage, until_back
from storage.partitions import Shares
from storage.pending import After, Among, HasId, PendingReader, Settled

POLL_SECONDS = 1.0

R = TypeVar("R", bound=HasId)


class QueueWorker(Generic[R]):
    def __init__(
        self,
        after: After[R],
        among: Among[R],
        batch: int,
        outage: Outage,
        settled: Settled | None = None,
    ) -> None:
        self._after, self._among, self._settled = after, among, settled
        self.reader = PendingReader(after, among, settled)
        self.batch = batch
        self.outage = outage
        self._wake = asyncio.Event()
        # the partitions this process works on; every one unless the wiring shares them out
        self.shares = Shares(every=True)

    def wake(self) -> None:
        """Rows were written: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, handle: Callable[[list[R]], Awaitable[None]]) -> None:
        """Hand each batch to `handle` until `stop`; what is left is read with `rest`. Each run reads
        from the first pending row: rows read by a run that was cancelled (its process lost the work
        to another) were never handled; so do partitions this process has just been given."""
        generation = -1
        while not stop.is_set():
            if generation != self.shares.generation:
                generation = self.shares.generation
                self.reader = PendingReader(self._after, self._among, self._settled)
            rows = await until_back(self._next, self.outage)
            if rows:
                await self._hand(rows, handle)
            else:
                await wait_for_either(self._wake, stop, POLL_SECONDS)
                self._wake.clear()

    async def _next(self) -> list[R]:
        parts = self.shares.mine()
        if parts is None:
            return await self.reader.next(self.batch)
        if not parts:
            return []
        # a read under way holds its partitions in hand: none of them is given back before its rows
        # are (from here to `_hand` nothing awaits)
        self.shares.take(parts)
        try:
            return await self.reader.next(self.batch, parts)
        finally:
            self.shares.done(parts)

    async def _hand(self, rows: list[R], handle: Callable[[list[R]], Awaitable[None]]) -> None:
        """The rows' partitions are not given back to another process while they are in hand."""
        parts = [row.part for row in rows]
        self.shares.take(parts)
        try:
            await handle(rows)
        finally:
            self.shares.done(parts)

    async def rest(self) -> list[R]:
        """The next batch after the stop, read once (an outage now leaves it for the next start)."""
        return await self._next()
