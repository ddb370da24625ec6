"""The chats' partitions on PostgreSQL: processes share them out, never hold one at once, take a
stopped process's share at once and a lost one's after its old holder's time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bots.leadership import Leadership
from storage.db import make_engine
from storage.migrate import upgrade_async
from storage.partition_leases import PartitionLease
from storage.partitions import PARTITIONS, Shares
from tests.conftest import new_database
from tests.waiting import CEILING, until

EVERY = 0.2  # seconds between a process's checks, short for the test
GRACE = 1.5  # a lost holder's time, short for the test


@dataclass
class Process:
    """One process's share of the partitions, with work that runs while it is held."""

    name: str
    engine: AsyncEngine
    shares: Shares = field(default_factory=Shares)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    lease: PartitionLease | None = None
    leadership: Leadership | None = None
    task: asyncio.Task[None] | None = None

    async def work(self, ended: asyncio.Event) -> None:
        await ended.wait()

    def start(self) -> None:
        self.lease = PartitionLease(self.engine, self.shares, GRACE)
        self.leadership = Leadership(self.lease, self.work, every=EVERY, regain=0.5)
        self.task = asyncio.create_task(self.leadership.run(self.stop))

    @property
    def working_on(self) -> frozenset[int]:
        """The partitions whose rows this process would read now."""
        running = self.leadership is not None and self.leadership.leading.is_set()
        return self.shares.active if running else frozenset()

    async def halt(self) -> None:
        self.stop.set()
        if self.task is not None:  # one the test killed ended cancelled
            await asyncio.wait_for(asyncio.gather(self.task, return_exceptions=True), CEILING)

    async def cut(self) -> None:
        """The server ends the lease's connection, as a network split or a restart would."""
        assert self.lease is not None
        pid = await self.lease._conn.scalar(text("SELECT pg_backend_pid()"))
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[list[Process]]:
    async with new_database("postgresql", tmp_path) as url:
        await upgrade_async(url)
        made = [Process(name, make_engine(url)) for name in ("a", "b", "c")]
        try:
            yield made
        finally:
            for process in made:
                await process.halt()
                await process.engine.dispose()


class Overlaps:
    """Watches, every 10 ms, that no partition is worked on by two processes at once."""

    def __init__(self, processes: list[Process]) -> None:
        self.processes, self.seen = processes, 0
        self.found: list[tuple[str, str, frozenset[int]]] = []
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            for i, first in enumerate(self.processes):
                for second in self.processes[i + 1 :]:
                    both = first.working_on & second.working_on
                    if both:
                        self.found.append((first.name, second.name, both))
            self.seen += 1
            await asyncio.sleep(0.01)

    def stop(self) -> None:
        self.task.cancel()


def covered(processes: list[Process]) -> bool:
    return sum(len(p.working_on) for p in processes) == PARTITIONS and all(
        p.working_on for p in processes if p.task is not None and not p.task.done()
    )


def leaving(process: Process) -> bool:
    return process.lease is not None and bool(process.lease.leaving)


def waited(process: Process) -> int:
    assert process.lease is not None
    return process.lease.waited


async def test_three_processes_share_the_partitions_and_take_a_stopped_ones_at_once(
    processes: list[Process],
) -> None:
    a, b, c = processes
    watch = Overlaps(processes)
    for process in processes:
        process.start()
    await until(
        lambda: covered(processes) and not any(p.lease and p.lease.leaving for p in processes), "shared"
    )
    assert sorted(len(p.working_on) for p in processes) == [10, 11, 11]
    await a.halt()  # it gives its partitions back clean: the others start on them without waiting
    await until(lambda: covered([b, c]), "a's share taken over")
    assert sorted(len(p.working_on) for p in (b, c)) == [16, 16]
    assert waited(b) == waited(c) == 0
    watch.stop()
    assert watch.seen > 10 and watch.found == []


async def test_a_dead_processs_partitions_are_taken_after_its_time(
    processes: list[Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, _ = processes
    a.start()
    await until(lambda: len(a.working_on) == PARTITIONS, "a has them all")
    b.start()
    await until(lambda: covered([a, b]) and not leaving(a), "shared by two")
    mine = a.working_on
    assert a.lease is not None and a.task is not None
    monkeypatch.setattr(a.lease, "release", a.lease._drop_connection)
    a.task.cancel()
    await asyncio.gather(a.task, return_exceptions=True)
    took = await until(lambda: mine <= b.working_on, "b works on a's partitions")
    assert waited(b) >= len(mine)
    assert took >= GRACE * 0.9  # b waited out the old holder's time
    assert len(b.working_on) == PARTITIONS


async def test_a_holder_whose_connection_was_cut_and_nobody_took_over_goes_on(
    processes: list[Process],
) -> None:
    a = processes[0]
    a.start()
    await until(lambda: len(a.working_on) == PARTITIONS, "a has them all")
    await a.cut()
    await until(lambda: a.lease is not None and a.lease.regained > 0, "the partitions held again")
    assert len(a.working_on) == PARTITIONS
    assert a.leadership is not None and a.leadership.losses == 0
