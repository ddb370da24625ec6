"""Okno's Telegram channel, run for real against the fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bots.runner import run_runtime
from bots.settings import Settings
from bots.wiring import Runtime, build_runtime
from dialog.engine import ConversationEngine
from storage.migrate import upgrade_async
from storage.state import MemoryStore
from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database, pg_url
from tests.fakes.telegram_api import FakeTelegram


@dataclass
class Backend:
    database_url: str
    redis_url: str | None
    redis_prefix: str


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Backend:
    return Backend(f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}", None, "okno:")


@pytest.fixture(params=["sqlite+memory", "postgresql+redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite+memory":
        yield Backend(f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}", None, "okno:")
        return
    name = await create_pg_database()
    prefix = f"okno-e2e-{uuid.uuid4().hex[:8]}:"
    try:
        yield Backend(pg_url(name), REDIS_URL, prefix)
    finally:
        redis = Redis.from_url(REDIS_URL)
        keys = [key async for key in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await drop_pg_database(name)


@dataclass(frozen=True)
class Grant:
    key: str
    at: float  # the store's own clock when it granted


@pytest.fixture
def grants(monkeypatch: pytest.MonkeyPatch) -> list[Grant]:
    """Every token and slot the in-memory store grants, stamped with the clock it decided by.

    Rates are checked here rather than by arrival times at a fake server: on a busy machine
    requests sent evenly reach the server in bunches, which proves nothing about the limiter."""
    granted: list[Grant] = []
    take_token, take_slot = MemoryStore.take_token, MemoryStore.take_slot

    async def token(store: MemoryStore, bucket: str, rate: float, capacity: float) -> float:
        wait = await take_token(store, bucket, rate, capacity)
        if not wait:
            granted.append(Grant(bucket, store._clock()))
        return wait

    async def slot(store: MemoryStore, key: str, limit: int, window: float, spacing: float) -> float:
        wait = await take_slot(store, key, limit, window, spacing)
        if not wait:
            granted.append(Grant(key, store._clock()))
        return wait

    monkeypatch.setattr(MemoryStore, "take_token", token)
    monkeypatch.setattr(MemoryStore, "take_slot", slot)
    return granted


def make_settings(fake: FakeTelegram, backend: Backend, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_token": fake.token,
        "telegram_api_url": fake.url,
        "database_url": backend.database_url,
        "redis_url": backend.redis_url,
        "redis_prefix": backend.redis_prefix,
        "telegram_rate_per_second": 0,
        "telegram_chat_rate_per_second": 0,
        "workers": 8,
        "web_chat": False,  # the web side has tests of its own
        "web_inbox": False,
    }
    return Settings(**(values | overrides))


@contextlib.asynccontextmanager
async def running(
    settings: Settings,
    engine: ConversationEngine,
    *,
    inbox: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[Runtime]:
    """Okno running until the block ends, then shut down as on SIGTERM."""
    await upgrade_async(settings.database_url)
    runtime = build_runtime(settings, engine, clock)
    if not inbox:  # receive and store only, as if the process died before handling
        runtime.updates.run = _idle  # type: ignore[method-assign]
        if runtime.desk_updates is not None:
            runtime.desk_updates.run = _idle  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(run_runtime(runtime, stop))
    try:
        yield runtime
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 15)
        finally:
            await runtime.close()


async def _idle(stop: asyncio.Event) -> None:
    await stop.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
