"""Scale-out: 1, 2 and 3 `okno run` processes on one PostgreSQL + Redis, the web chat end to end.

For each process count, that many `okno run` processes start with the same settings (web_chat's
`running_okno`: the chat's rate limits raised, the inbox off), each serving the web chat on a port
of its own. C citizens' sockets are spread over the ports round robin, as a load balancer would;
each citizen sends M messages in sequence (send, wait for the reply, next), as in web_chat.py's
case 1. Measured over the window from the first message to the last reply: messages a second end
to end, the latency from a message sent to the first frame of its reply (p50, p99), and per
message the database round trips and the Redis commands; per process its resident memory at the
end and its CPU seconds (utime + stime, /proc/<pid>/stat) over the window.

Database round trips are statements from pg_stat_statements when the server preloads it (the
extension is created in the benchmark's database); otherwise transactions (xact_commit +
xact_rollback of pg_stat_database), which the output says. pg_stat_database is flushed by each
server process when it goes idle, at most 10 s late, so the counters are read after FLUSH_SECONDS
of quiet, and what the processes do idle (the leader's polls, leases) is measured over as long
before the window and subtracted. Redis commands are the sum of `calls` in INFO commandstats, for
the whole instance (anything else using this Redis adds to them), less this benchmark's own INFO.

Each process count gets a fresh database (and Redis prefix) from web_chat's `backend`: every count
starts from the same empty store, with no leader lock, leases or conversations left by the one
before, and pg_stat_database's per-database counters see that count's processes only. The
migration this costs happens before the window. The machine's cores bound the speed-up, so there
is no target for it: the table is the curve. Every message must be answered, else exit 1.
Run with `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from telegram_e2e import REDIS_URL  # noqa: E402
from vk_e2e import free_port  # noqa: E402
from web_chat import (  # noqa: E402
    POSTGRES,
    Crowd,
    Talk,
    backend,
    open_sockets,
    percentile,
    plan,
    raise_fd_limit,
    rss_mb,
    running_okno,
    talk_all,
)

FLUSH_SECONDS = 11.0  # an idle PostgreSQL backend reports its counters within 10 s
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STATEMENTS = (
    "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND query NOT LIKE '%pg_stat_statements%'"
)
TRANSACTIONS = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def processes(count: int) -> str:
    return f"{count} process{'es' if count != 1 else ''}"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Snapshot:
    at: float
    db: int
    redis: int
    cpu: list[float]


class Probe:
    """The counters of the benchmark's database and of the Redis instance, and the processes' CPU."""

    def __init__(self, pg: Any, redis: Redis, statements: bool, pids: list[int]) -> None:
        self.pg, self.redis, self.statements, self.pids = pg, redis, statements, pids
        self.taken = 0  # snapshots: each one's INFO and query count in the next one, not the processes'

    @classmethod
    @contextlib.asynccontextmanager
    async def opened(cls, database_url: str, pids: list[int]) -> AsyncIterator[Probe]:
        pg = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        redis = Redis.from_url(REDIS_URL)
        try:
            preloaded = await pg.fetchval("SHOW shared_preload_libraries")
            statements = "pg_stat_statements" in str(preloaded)
            if statements:
                await pg.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            yield cls(pg, redis, statements, pids)
        finally:
            await pg.close()
            await redis.aclose()

    @property
    def db_unit(self) -> str:
        if self.statements:
            return "statements (pg_stat_statements)"
        return "transactions (pg_stat_database xact_commit + xact_rollback), not statements"

    async def snapshot(self) -> Snapshot:
        """The counters less this probe's own work (its statements are left out by their text)."""
        db = int(await self.pg.fetchval(STATEMENTS if self.statements else TRANSACTIONS))
        stats = await self.redis.info("commandstats")
        calls = sum(int(entry["calls"]) for entry in stats.values())
        own, self.taken = self.taken, self.taken + 1
        cpu = [cpu_seconds(pid) for pid in self.pids]
        return Snapshot(time.monotonic(), db - (0 if self.statements else own), calls - own, cpu)


@dataclass
class Costs:
    db: float  # per message, the idle background subtracted
    redis: float
    cpu: list[float]  # seconds over the window, per process


@dataclass
class Row:
    processes: int
    talked: Talk
    costs: Costs
    rss: list[float]  # MB per process at the window's end
    db_unit: str

    @property
    def rate(self) -> float:
        seconds = self.talked.last_reply - self.talked.started
        return self.talked.answered / seconds if seconds > 0 else 0.0

    def cpu_line(self) -> str:
        return f"{self.processes}: " + " / ".join(f"{seconds:.1f}" for seconds in self.costs.cpu)

    def cells(self) -> list[str]:
        latencies = self.talked.latencies
        p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
        per_1000 = sum(self.costs.cpu) * 1000 / self.talked.answered if self.talked.answered else float("nan")
        return [
            str(self.processes),
            f"{self.rate:,.0f}",
            f"{p50:,.0f}",
            f"{percentile(latencies, 0.99) * 1000:,.0f}",
            f"{self.costs.db:.1f}",
            f"{self.costs.redis:.1f}",
            " / ".join(f"{mb:.0f}" for mb in self.rss),
            f"{per_1000:.2f}",
        ]


HEADERS = ["processes", "msgs/s", "p50 ms", "p99 ms", "DB per msg", "Redis cmds per msg"]
HEADERS += ["RSS MB per process", "CPU s per 1000 msgs"]


def table(rows: list[Row]) -> list[str]:
    cells = [HEADERS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    return [" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)) for line in cells]


def answered_all(talked: Talk) -> bool:
    return (
        talked.answered == talked.planned
        and talked.errors == 0
        and not talked.broken
        and not talked.timed_out
    )


@dataclass
class Citizens:
    """Greeted sockets, citizen i on port i mod P, and what each will say."""

    crowds: list[Crowd] = field(default_factory=list)
    pairs: list[tuple[aiohttp.ClientWebSocketResponse, tuple[list[str], list[int]]]] = field(
        default_factory=list
    )
    failed: Counter[str] = field(default_factory=Counter)


async def greeted(
    session: aiohttp.ClientSession, ports: list[int], work: list[tuple[list[str], list[int]]], seconds: float
) -> Citizens:
    citizens = Citizens()
    for i, port in enumerate(ports):
        mine = work[i :: len(ports)]
        crowd = await open_sockets(session, f"ws://127.0.0.1:{port}/chat/ws", len(mine), seconds, idle=False)
        citizens.crowds.append(crowd)
        citizens.pairs += list(zip(crowd.sockets, mine, strict=False))
        citizens.failed += crowd.failed
    return citizens


async def window(probe: Probe, citizens: Citizens, stats: Talk, seconds: float) -> Costs:
    """The citizens talk; what that cost the database, Redis and each process's CPU."""
    say(f"  quiet {2 * FLUSH_SECONDS:.0f} s: counters flushed, then the idle background measured")
    await asyncio.sleep(FLUSH_SECONDS)
    idle_from = await probe.snapshot()
    await asyncio.sleep(FLUSH_SECONDS)
    start = await probe.snapshot()
    await talk_all(citizens.pairs, stats, seconds)
    cpu = [cpu_seconds(pid) - before for pid, before in zip(probe.pids, start.cpu, strict=True)]
    say(f"  quiet {FLUSH_SECONDS:.0f} s: counters flushed")
    await asyncio.sleep(FLUSH_SECONDS)
    end = await probe.snapshot()
    share = (end.at - start.at) / (start.at - idle_from.at)  # of the idle background in the span
    db = (end.db - start.db) - (start.db - idle_from.db) * share
    redis = (end.redis - start.redis) - (start.redis - idle_from.redis) * share
    answered = max(stats.answered, 1)
    return Costs(db / answered, redis / answered, cpu)


async def measure(count: int, args: argparse.Namespace) -> Row:
    """`count` processes on a fresh database, the citizens spread over them round robin."""
    work = plan(args.citizens, args.messages)
    stats = Talk(len(work), sum(len(t) for t, _ in work), sum(sum(w) for _, w in work))
    async with backend(POSTGRES) as extra, contextlib.AsyncExitStack() as stack:
        ports = [free_port() for _ in range(count)]
        say(f"{processes(count)}: starting on ports {', '.join(map(str, ports))}")
        started = [await stack.enter_async_context(running_okno(extra, port)) for port in ports]
        pids = [process.pid for process in started]
        probe = await stack.enter_async_context(Probe.opened(extra["OKNO_DATABASE_URL"], pids))
        connector = aiohttp.TCPConnector(limit=0)
        session = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        say(f"  {args.citizens} citizens × {args.messages} messages: opening sockets")
        citizens = await greeted(session, ports, work, args.timeout)
        stats.broken = citizens.failed
        costs = await window(probe, citizens, stats, args.timeout)
        rss = [rss_mb(pid) for pid in pids]
        for crowd in citizens.crowds:
            await crowd.close()
        say(f"  {', '.join(stats.verdicts())}")
        return Row(count, stats, costs, rss, probe.db_unit)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=120, help="concurrent sockets exchanging messages")
    parser.add_argument("--messages", type=int, default=10, help="messages each citizen sends in sequence")
    parser.add_argument("--processes", default="1,2,3", help="process counts to measure, comma-separated")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds each phase may take at most")
    args = parser.parse_args()
    counts = [int(part) for part in args.processes.split(",") if part.strip()]
    limit = raise_fd_limit()
    if limit < 2 * args.citizens + 200:
        say(f"open files are limited to {limit}: too few for the sockets asked for")
    rows = [await measure(count, args) for count in counts]
    for line in table(rows):
        print(line)
    units = {row.db_unit for row in rows}
    print(f"DB per msg counts {', '.join(units)}; the idle background is subtracted from it and from Redis")
    print("CPU seconds over the window, per process: " + "; ".join(row.cpu_line() for row in rows))
    failed = [row for row in rows if not answered_all(row.talked)]
    for row in failed:
        print(f"{processes(row.processes)}: {', '.join(row.talked.verdicts())}")
    if failed:
        print("FAILED: not every message was answered (see above)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
