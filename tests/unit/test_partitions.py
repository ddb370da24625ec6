"""A chat's partition: the same for its updates, replies and jobs, in every process, for good."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from handoff.polling import QueueWorker
from storage.outage import Outage
from storage.partitions import PARTITIONS, Shares, chat_partition, partition_of

MIGRATION = Path(__file__).parents[2] / "storage" / "migrations" / "versions" / "0013_partitions.py"


def test_a_chats_partition_is_fixed_and_shared_by_its_queues() -> None:
    # rows keep the partition they were written with: the function may never change
    assert [partition_of(f"telegram:{n}") for n in (1, 2, 3)] == [18, 8, 30]
    assert chat_partition("vk", "2000000001") == partition_of("vk:2000000001")
    spread = {partition_of(f"web:{n}") for n in range(1000)}
    assert spread == set(range(PARTITIONS))


def test_the_migration_gives_pending_rows_the_partitions_the_code_reads() -> None:
    spec = importlib.util.spec_from_file_location("migration_0013", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.PARTITIONS == PARTITIONS


def test_a_partition_is_given_back_only_once_nothing_of_it_is_in_hand() -> None:
    shares = Shares()
    shares.add([1, 2])
    generation = shares.generation
    shares.take([1, 1, 2])
    shares.remove([1])
    assert shares.mine() == [2] and not shares.idle(1)
    shares.done([1])
    assert not shares.idle(1)
    shares.done([1, 2])
    assert shares.idle(1) and shares.idle(2)
    shares.add([3])
    assert shares.generation == generation + 1  # the readers read partition 3 from its start
    assert Shares(every=True).mine() is None  # one process with every partition filters nothing


async def test_a_read_under_way_holds_its_partitions_so_none_is_given_back_meanwhile() -> None:
    shares = Shares()
    shares.add([1, 2])
    reading, answer = asyncio.Event(), asyncio.Event()

    async def after(position: int, limit: int, parts: list[int] | None) -> list[Row]:
        reading.set()
        await answer.wait()
        return [Row(7, 1)]

    async def among(ids: Sequence[int], parts: list[int] | None) -> list[Row]:
        return []

    worker: QueueWorker[Row] = QueueWorker(after, among, 10, Outage("test", logging.getLogger("test")))
    worker.shares = shares
    read = asyncio.create_task(worker.rest())
    await reading.wait()
    assert not shares.idle(1) and not shares.idle(2)  # its rows may be of either
    answer.set()
    assert [row.id for row in await read] == [7]
    assert shares.idle(1) and shares.idle(2)


@dataclass(frozen=True)
class Row:
    id: int
    part: int
