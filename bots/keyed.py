"""Work in order per key, different keys at once: one chat's messages never overtake each other."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from handoff.waiting import wait_for_either

__all__ = ["GroupCommit", "KeyedQueue", "wait_for_either"]

logger = logging.getLogger("okno.bots.keyed")

T = TypeVar("T")


class KeyedQueue(Generic[T]):
    """FIFO per key, handled by a fixed pool of workers; a key is with one worker at a time.

    A key waits in the ready queue at most once: items put while it waits or is being
    drained join its deque, so they keep their order.
    """

    def __init__(
        self, handle: Callable[[T], Awaitable[None]], workers: int, tasks: asyncio.TaskGroup
    ) -> None:
        self._handle = handle
        self._queues: dict[str, deque[T]] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self._finishing = False
        self._handling: set[asyncio.Task[None] | None] = set()
        self._workers = [tasks.create_task(self._work(), name=f"keyed-worker-{i}") for i in range(workers)]

    def put(self, key: str, item: T) -> None:
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(item)
            return
        self._queues[key] = deque([item])
        self._idle.clear()
        self._ready.put_nowait(key)

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def join(self) -> None:
        await self._idle.wait()

    def close(self) -> None:
        """Stop the workers; what is still queued stays where it came from (the database)."""
        for worker in self._workers:
            worker.cancel()

    async def finish(self, timeout: float) -> None:
        """Start nothing new, let the items being handled end (a send cut off mid-request may
        have reached the platform and would go again at the next start), then stop."""
        self._finishing = True
        handling = [w for w in self._workers if w in self._handling]
        for worker in self._workers:  # an idle worker waits for a key that will not come
            if worker not in self._handling:
                worker.cancel()
        if handling:
            _, late = await asyncio.wait(handling, timeout=timeout)
            if late:
                logger.warning("%d items still in progress after %.0f s were cut off", len(late), timeout)
        self.close()

    async def _work(self) -> None:
        me = asyncio.current_task()
        while not self._finishing:
            key = await self._ready.get()
            queue = self._queues[key]
            while queue and not self._finishing:
                self._handling.add(me)
                try:
                    await self._handle(queue[0])
                except Exception:  # one bad item must not stop its chat
                    logger.exception("a queued item failed")  # the key names a citizen: not logged
                finally:
                    self._handling.discard(me)
                queue.popleft()
            if self._finishing:
                return
            del self._queues[key]
            if not self._queues:
                self._idle.set()


class GroupCommit(Generic[T]):
    """Many coroutines' writes in one transaction: the first caller writes for all who wait.

    Each caller returns only once its own item is written, so nothing is acknowledged
    before it is durable; under load one write carries dozens of items.
    """

    def __init__(self, write: Callable[[list[T]], Awaitable[None]]) -> None:
        self._write = write
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._writing = False

    async def add(self, item: T) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if not self._writing:
            self._writing = True
            try:
                while self._pending:
                    batch, self._pending = self._pending, []
                    await self._write_batch(batch)
            finally:
                self._writing = False
        await done

    async def _write_batch(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._write([item for item, _ in batch])
        except Exception as exc:  # noqa: BLE001 - handed to every waiter of this batch, not swallowed
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)
