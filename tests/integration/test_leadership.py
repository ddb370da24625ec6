"""The work on PostgreSQL: one process at a time does it, and another takes it over when the holder
stops, dies or loses its connection — never both at once."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bots.leadership import Leadership
from storage.db import make_engine
from storage.leases import SINGLE_WORK, AdvisoryLease, AnotherProcess, FileLease
from tests.conftest import new_database
from tests.waiting import CEILING, until

EVERY = 0.2  # seconds between a process's tries and checks, short for the test


@dataclass
class Process:
    """One process's leadership over a loop that notes when it ran."""

    name: str
    engine: AsyncEngine
    runs: list[tuple[str, float, float]]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    leadership: Leadership | None = None
    task: asyncio.Task[None] | None = None

    async def work(self, ended: asyncio.Event) -> None:
        started = time.monotonic()
        try:
            await ended.wait()
        finally:
            self.runs.append((self.name, started, time.monotonic()))

    def start(self, regain: float = 4.0) -> None:
        self.leadership = Leadership(AdvisoryLease(self.engine), self.work, every=EVERY, regain=regain)
        self.task = asyncio.create_task(self.leadership.run(self.stop))

    @property
    def leading(self) -> bool:
        return self.leadership is not None and self.leadership.leading.is_set()

    async def halt(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, CEILING)


@pytest.fixture
async def postgres_url(tmp_path: Path) -> AsyncIterator[str]:
    async with new_database("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
async def processes(postgres_url: str) -> AsyncIterator[list[Process]]:
    runs: list[tuple[str, float, float]] = []
    made = [Process(name, make_engine(postgres_url), runs) for name in ("a", "b", "c")]
    try:
        yield made
    finally:
        for process in made:
            await process.halt()
            await process.engine.dispose()


def has_waited(process: Process) -> bool:
    """The process has tried for the lease and found it held."""
    return process.leadership is not None and process.leadership.contested


def leaders(processes: list[Process]) -> list[str]:
    return [p.name for p in processes if p.leading]


def overlaps(runs: list[tuple[str, float, float]]) -> list[tuple[str, str]]:
    ordered = sorted(runs, key=lambda run: run[1])
    return [(a[0], b[0]) for a, b in itertools.pairwise(ordered) if b[1] < a[2]]


async def test_one_process_of_three_runs_the_single_work_and_another_takes_over_when_it_stops(
    processes: list[Process],
) -> None:
    for process in processes:
        process.start()
    await until(lambda: len(leaders(processes)) == 1, "one leader")
    first = next(p for p in processes if p.leading)
    await asyncio.sleep(1.0)  # a while of three processes side by side: still one
    assert leaders(processes) == [first.name]
    await first.halt()
    await until(lambda: len(leaders(processes)) == 1, "another leader")
    assert first.name not in leaders(processes)
    assert not overlaps(first.runs)


async def cut_lease_connection(process: Process) -> None:
    """The server ends the connection holding the lease, as a network split or a restart would."""
    async with process.engine.connect() as connection:
        held_by = await connection.scalar(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"key": SINGLE_WORK},
        )
        assert held_by is not None
        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": held_by})


async def test_a_holder_whose_connection_is_cut_stops_before_another_starts(processes: list[Process]) -> None:
    """Its process lives on, unaware at first: it stops the work once it finds out, and whoever
    takes the lease next (b, or a again) waits out the old holder's check first."""
    a, b, _ = processes
    a.start(regain=0.0)  # no second try: the work stops
    await until(lambda: a.leading, "a leads")
    b.start()
    await until(lambda: has_waited(b), "b waits")
    await cut_lease_connection(a)
    # lost, and the work ended: `leading` is cleared only once the cancelled work has finished
    await until(lambda: a.leadership is not None and a.leadership.losses == 1 and not a.leading, "a stops")
    await until(lambda: a.leading or b.leading, "one of them takes the work")  # whoever asks first
    assert a.task is not None and not a.task.done()  # a lives on
    await b.halt()
    await a.halt()
    runs = b.runs  # every process's, in one list
    assert len(runs) >= 2 and sorted(runs, key=lambda run: run[1])[0][0] == "a"
    assert not overlaps(runs)


async def test_a_holder_that_gets_its_lease_back_in_time_goes_on_working(processes: list[Process]) -> None:
    """A restart of PostgreSQL cuts every connection, and nobody else can take the lease meanwhile:
    the work goes on through it, rather than stopping as a crash would."""
    a, *_ = processes
    a.start()
    await until(lambda: a.leading, "a leads")
    await cut_lease_connection(a)
    await until(lambda: a.leadership is not None and a.leadership.contested, "a finds its lease lost")
    await asyncio.sleep(0.5)  # a few checks later, with the lease held again
    assert a.leading and a.leadership is not None and a.leadership.losses == 0
    assert a.runs == []  # one run, never stopped
    await a.halt()
    assert len(a.runs) == 1


async def test_a_second_process_on_one_sqlite_file_is_refused_and_the_first_goes_on(tmp_path: Path) -> None:
    database = tmp_path / "okno.sqlite3"
    first, second = FileLease(database), FileLease(database)
    assert await first.acquire()
    with pytest.raises(AnotherProcess, match=r"pid \d+.*PostgreSQL"):
        await second.acquire()
    assert await first.held()
    await first.release()
    assert await second.acquire()  # once the first has stopped, a new one may start
    await second.release()
