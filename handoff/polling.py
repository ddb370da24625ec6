"""The loop every queue worker runs: a table's pending rows in id order, handed on in batches; idle
until woken or `POLL_SECONDS` pass; a database away waited out, never fatal.

The inbox, the outbox and the handoff jobs each run one, with their own way of handling a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from handoff.waiting import wait_for_either
from storage.outage import Outage, until_back
from storage.pending import HasId, PendingReader

POLL_SECONDS = 1.0

R = TypeVar("R", bound=HasId)


class QueueWorker(Generic[R]):
    def __init__(
        self,
        after: Callable[[int, int], Awaitable[list[R]]],
        among: Callable[[Sequence[int]], Awaitable[list[R]]],
        batch: int,
        outage: Outage,
    ) -> None:
        self._after, self._among = after, among
        self.reader = PendingReader(after, among)
        self.batch = batch
        self.outage = outage
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Rows were written: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, handle: Callable[[list[R]], Awaitable[None]]) -> None:
        """Hand each batch to `handle` until `stop`; what is left is read with `rest`. Each run reads
        from the first pending row: rows read by a run that was cancelled (its process lost the work
        to another) were never handled."""
        self.reader = PendingReader(self._after, self._among)
        while not stop.is_set():
            rows = await until_back(lambda: self.reader.next(self.batch), self.outage)
            if rows:
                await handle(rows)
            else:
                await wait_for_either(self._wake, stop, POLL_SECONDS)
                self._wake.clear()

    async def rest(self) -> list[R]:
        """The next batch after the stop, read once (an outage now leaves it for the next start)."""
        return await self.reader.next(self.batch)
