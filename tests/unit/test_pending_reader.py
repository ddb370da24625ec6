"""A row committed after a higher id is still read once it appears; a gap that never fills is dropped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.pending import GAP_SECONDS, PendingReader


@dataclass(frozen=True)
class Row:
    id: int


class Table:
    """Pending rows as other transactions commit them, in any order."""

    def __init__(self) -> None:
        self.visible: set[int] = set()
        self.done: set[int] = set()
        self.now = 0.0

    async def after(self, position: int, limit: int, parts: list[int] | None) -> list[Row]:
        return [Row(i) for i in sorted(self.visible - self.done) if i > position][:limit]

    async def among(self, ids: Sequence[int], parts: list[int] | None) -> list[Row]:
        return [Row(i) for i in ids if i in self.visible - self.done]

    def reader(self) -> PendingReader[Row]:
        return PendingReader(self.after, self.among, clock=lambda: self.now)


async def test_a_row_that_commits_after_a_higher_one_is_not_passed_over() -> None:
    table = Table()
    reader = table.reader()
    table.visible |= {1, 3}  # 2 is still in an open transaction
    assert [r.id for r in await reader.next(10)] == [1, 3]
    table.done |= {1, 3}
    table.visible.add(2)
    table.now += 1
    assert [r.id for r in await reader.next(10)] == [2]
    table.done.add(2)
    assert await reader.next(10) == [] and not reader.gaps


async def test_a_gap_that_never_fills_is_given_up_and_each_row_is_read_once() -> None:
    table = Table()
    reader = table.reader()
    table.visible |= {1, 5}  # 2..4 were rolled back
    assert [r.id for r in await reader.next(10)] == [1, 5]
    table.done |= {1, 5}
    table.now += GAP_SECONDS + 1
    assert await reader.next(10) == [] and not reader.gaps
    table.visible.add(3)  # too late: the next start reads it (it starts from the first pending row)
    assert await reader.next(10) == []
    assert [r.id for r in await table.reader().next(10)] == [3]


class Parted(Table):
    """The same rows spread over partitions: row n is in partition n % 2."""

    async def after(self, position: int, limit: int, parts: list[int] | None) -> list[Row]:
        rows = await super().after(position, 1000, None)
        return [r for r in rows if parts is None or r.id % 2 in parts][:limit]

    async def among(self, ids: Sequence[int], parts: list[int] | None) -> list[Row]:
        self.asked.append(list(ids))
        return [r for r in await super().among(ids, None) if parts is None or r.id % 2 in parts]

    async def settled(self, ids: Sequence[int], parts: list[int]) -> list[int]:
        return [i for i in ids if i in self.visible and not (i not in self.done and i % 2 in parts)]

    def parted_reader(self) -> PendingReader[Row]:
        self.asked: list[list[int]] = []
        return PendingReader(self.after, self.among, self.settled, clock=lambda: self.now)


async def test_a_reader_of_some_partitions_jumps_over_the_others_rows_without_waiting_for_them() -> None:
    table = Parted()
    reader = table.parted_reader()
    table.visible |= {1, 2, 3, 5, 6}  # 4 is still in an open transaction
    assert [r.id for r in await reader.next(10, [0])] == [2, 6]
    table.done |= {2, 6}
    assert await reader.next(10, [0]) == []
    assert sorted(reader.gaps) == [4]  # the odd rows are another partition's: not waited for
    assert table.asked == [[4]]  # and never asked for by id
    table.visible.add(4)
    assert [r.id for r in await reader.next(10, [0])] == [4]
