"""Startup and memory: how soon `okno run` is ready, how much it holds idle, and Redis per conversation.

`okno run` (the installed console script) runs as its own process for each configuration:
the embedded default (SQLite in a temporary directory, in-memory state, no channel tokens), every
channel configured (Telegram, VK and MAX pointed at the fake API servers of the tests, so nothing
reaches the internet; the web chat and inbox on) on SQLite, and the same on PostgreSQL + Redis
when both are reachable. Each configuration starts once on new data (the first start, which
migrates the database) and then restarts 3 times on the same data, as a deployed process does;
measured are the seconds from the spawn until `/healthz` answers 200 (ready) and the resident
memory (VmRSS) after ~3 s idle. The targets are judged on the restarts' medians; the first start
is shown beside them. Then, on Redis, N web chat conversations are opened (hello, welcome, greeting,
close) and the Redis memory under this run's key prefix is divided by N. Targets: the embedded
default ready in ≤ 2 s at ≤ 120 MB; every channel ready in ≤ 4 s at ≤ 200 MB; ≤ 2 KB of Redis per
idle conversation. Exits 1 naming the targets missed. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from telegram_e2e import REDIS_URL  # noqa: E402
from vk_e2e import free_port  # noqa: E402
from web_chat import POSTGRES, backend, okno_process, open_socket  # noqa: E402

from tests.fakes.max_api import FakeMax  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.fakes.vk_api import FakeVk  # noqa: E402

IDLE_SECONDS = 3.0
EMBEDDED, CHANNELS, CHANNELS_PG = (
    "embedded default, no token",
    "every channel, SQLite",
    "every channel, PG + Redis",
)
TARGETS = {EMBEDDED: (2.0, 120.0), CHANNELS: (4.0, 200.0), CHANNELS_PG: (4.0, 200.0)}  # seconds, MB
REDIS_TARGET_BYTES = 2048


@dataclass
class Run:
    ready: float  # seconds from spawn to /healthz 200
    rss: float  # MB after IDLE_SECONDS idle


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def reachable() -> bool:
    """PostgreSQL and Redis both answer (the PG + Redis row and the Redis figure need them)."""
    try:
        import asyncpg  # noqa: PLC0415 - only the PostgreSQL row needs them
        from redis.asyncio import Redis  # noqa: PLC0415

        connection = await asyncio.wait_for(
            asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres"), 3
        )
        await connection.close()
        client = Redis.from_url(REDIS_URL)
        try:
            await asyncio.wait_for(client.ping(), 3)
        finally:
            await client.aclose()
    except (OSError, TimeoutError, ImportError, Exception) as exc:  # noqa: BLE001 - any failure: skip
        log(f"PostgreSQL + Redis not reachable ({exc!r}): their row is left out")
        return False
    return True


@contextlib.asynccontextmanager
async def configuration(name: str, folder: Path) -> AsyncIterator[dict[str, str]]:
    """The OKNO_* environment of one configuration; fake messengers and databases live as long."""
    sqlite = {"OKNO_DATABASE_URL": f"sqlite+aiosqlite:///{folder / f'{uuid.uuid4().hex[:8]}.sqlite3'}"}
    if name == EMBEDDED:
        yield sqlite
        return
    async with FakeTelegram() as telegram, FakeVk() as vk, FakeMax() as max_api:
        channels = {
            "OKNO_TELEGRAM_TOKEN": telegram.token,
            "OKNO_TELEGRAM_API_URL": telegram.url,
            "OKNO_VK_TOKEN": vk.token,
            "OKNO_VK_GROUP_ID": str(vk.group_id),
            "OKNO_VK_API_URL": vk.url,
            "OKNO_MAX_TOKEN": max_api.token,
            "OKNO_MAX_API_URL": max_api.url,
        }
        if name == CHANNELS:
            yield sqlite | channels
            return
        async with backend(POSTGRES) as extra:
            yield extra | channels


async def one_run(extra: dict[str, str], folder: Path) -> Run:
    async with okno_process(extra, free_port(), folder / "okno.log") as (process, ready):
        await asyncio.sleep(IDLE_SECONDS)
        return Run(ready, rss_mb(process.pid))


async def measure(name: str, repeats: int, folder: Path) -> tuple[Run, list[Run]]:
    """The first start (it migrates a new database), then `repeats` restarts on the same data."""
    async with configuration(name, folder) as extra:
        first = await one_run(extra, folder)
        log(f"{name}, first start: ready in {first.ready:.2f} s, {first.rss:.0f} MB idle")
        runs = []
        for i in range(repeats):
            runs.append(await one_run(extra, folder))
            log(f"{name}, restart #{i + 1}: ready in {runs[-1].ready:.2f} s, {runs[-1].rss:.0f} MB idle")
    return first, runs


async def redis_per_conversation(count: int, folder: Path) -> tuple[float, Counter[str]]:
    """Bytes of Redis under this run's prefix per idle web chat conversation, and the bytes by key kind."""
    from redis.asyncio import Redis  # noqa: PLC0415 - only with Redis

    limits = {  # one address opens them all: the chat's per-address limits are not what is measured
        "OKNO_WEB_CHAT_NEW_PER_HOUR": str(count * 10),
        "OKNO_WEB_CHAT_NEW_AT_ONCE": str(count * 10),
        "OKNO_WEB_CHAT_IP_RATE_PER_SECOND": "100000",
        "OKNO_WEB_INBOX": "false",
    }
    async with backend(POSTGRES) as extra:
        port, prefix = free_port(), extra["OKNO_REDIS_PREFIX"]
        async with (
            okno_process(extra | limits, port, folder / "okno.log"),
            aiohttp.ClientSession() as session,
        ):
            for i in range(count):
                ws = await open_socket(session, f"ws://127.0.0.1:{port}/chat/ws")
                await ws.close()
                if (i + 1) % 50 == 0:
                    log(f"redis: {i + 1}/{count} conversations")
            await asyncio.sleep(1.0)
            client = Redis.from_url(REDIS_URL)
            kinds: Counter[str] = Counter()
            try:
                async for key in client.scan_iter(match=f"{prefix}*", count=1000):
                    kind = key.decode()[len(prefix) :].split(":")[0]
                    kinds[kind] += await client.memory_usage(key, samples=0) or 0
            finally:
                await client.aclose()
    return sum(kinds.values()) / count, kinds


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each configuration (the median counts)"
    )
    parser.add_argument("--conversations", type=int, default=200, help="web chat conversations for Redis")
    args = parser.parse_args()
    names = [EMBEDDED, CHANNELS]
    redis = await reachable()
    if redis:
        names.append(CHANNELS_PG)
    missed: list[str] = []
    rows = [
        "| configuration | restart: ready (median) | restart: RSS idle (median) | first start: ready, RSS "
        "| target |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="okno-startup-") as temp:
        folder = Path(temp)
        for name in names:
            first, runs = await measure(name, args.repeats, folder)
            ready, rss = statistics.median(r.ready for r in runs), statistics.median(r.rss for r in runs)
            most_seconds, most_mb = TARGETS[name]
            rows.append(
                f"| {name} | {ready:.2f} s | {rss:.0f} MB | {first.ready:.2f} s, {first.rss:.0f} MB "
                f"| ≤ {most_seconds:.0f} s, ≤ {most_mb:.0f} MB |"
            )
            if ready > most_seconds:
                missed.append(f"{name}: ready in {ready:.2f} s > {most_seconds:.0f} s")
            if rss > most_mb:
                missed.append(f"{name}: {rss:.0f} MB > {most_mb:.0f} MB")
        if redis:
            per, kinds = await redis_per_conversation(args.conversations, folder)
            by_kind = ", ".join(
                f"{kind} {size / args.conversations:,.0f}" for kind, size in kinds.most_common()
            )
            rows.append(f"| Redis per idle web chat conversation | | {per:,.0f} B ({by_kind}) | | ≤ 2 KB |")
            if per > REDIS_TARGET_BYTES:
                missed.append(f"Redis: {per:,.0f} B per idle conversation > {REDIS_TARGET_BYTES:,} B")
    print("\n".join(rows))
    if missed:
        print("targets NOT met: " + "; ".join(missed))
        return 1
    print("targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
