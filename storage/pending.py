"""Reading a queue table's pending rows in id order, so a row committed late is not passed over.

Ids are handed out when a row is inserted but become visible when its transaction commits, which
on PostgreSQL can be after a higher id has committed. A reader that only asks for ids above the
last one it saw would skip such a row until the next restart. This one remembers the ids it
jumped over and asks for them again until they appear or `GAP_SECONDS` pass (a rolled-back insert
leaves a gap for ever).

A reader of some partitions only (`parts`) jumps over other partitions' rows too: it asks which of
the ids it jumped over are such rows (`settled`) and stops waiting for them."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

GAP_SECONDS = 30.0
MAX_GAPS = 10_000  # a sequence that jumped far (a bulk rollback) is not tracked id by id


class HasId(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def part(self) -> int: ...  # the chat's partition (storage/partitions.py)


R = TypeVar("R", bound=HasId)


Parts = list[int] | None  # the partitions read; None for all
After = Callable[[int, int, Parts], Awaitable[list[R]]]
Among = Callable[[Sequence[int], Parts], Awaitable[list[R]]]
Settled = Callable[[Sequence[int], list[int]], Awaitable[list[int]]]


class PendingReader(Generic[R]):
    def __init__(
        self,
        after: After[R],
        among: Among[R],
        settled: Settled | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._after = after  # pending rows with id > the position, in id order, at most `limit`
        self._among = among  # pending rows with these ids
        self._settled = settled  # of these ids, the rows that are not pending work of these partitions
        self._clock = clock
        self.position = 0
        self.gaps: dict[int, float] = {}  # id jumped over -> when

    async def next(self, limit: int, parts: Parts = None) -> list[R]:
        late = await self._late(parts)
        fresh = await self._after(self.position, limit, parts)
        self._advance([row.id for row in fresh])
        return sorted([*late, *fresh], key=lambda row: row.id)

    async def _late(self, parts: Parts) -> list[R]:
        if not self.gaps:
            return []
        now = self._clock()
        self.gaps = {gap: seen for gap, seen in self.gaps.items() if now - seen < GAP_SECONDS}
        if parts is not None and self._settled is not None and self.gaps:
            for row_id in await self._settled(sorted(self.gaps), parts):
                self.gaps.pop(row_id, None)
        found = await self._among(sorted(self.gaps), parts) if self.gaps else []
        for row in found:
            self.gaps.pop(row.id, None)
        return found

    def _advance(self, ids: list[int]) -> None:
        now = self._clock()
        expected = self.position + 1
        for row_id in ids:
            if row_id - expected <= MAX_GAPS - len(self.gaps):
                self.gaps.update(dict.fromkeys(range(expected, row_id), now))
            expected = row_id + 1
        if ids:
            self.position = max(self.position, ids[-1])
