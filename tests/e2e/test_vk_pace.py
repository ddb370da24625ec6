"""Several Okno processes on one VK token keep to VK's limit together through the shared state store."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.pacing import EvenPace, Pace
from adapters.vk.client import VkClient
from bots.ratelimit import SharedPace
from storage.state import RedisStateStore
from tests.conftest import REDIS_URL, unavailable
from tests.fakes.vk_api import FakeVk

RATE = 10.0  # requests a second for the token
CALLS = 25  # per process


@pytest.fixture
async def redis_stores() -> AsyncIterator[list[RedisStateStore]]:
    """Two stores on their own connections, as two processes would have."""
    prefix = f"okno-test-{uuid.uuid4().hex[:8]}:"
    clients = [Redis.from_url(REDIS_URL, decode_responses=True) for _ in range(2)]
    try:
        await clients[0].ping()
    except OSError as exc:
        for client in clients:
            await client.aclose()
        unavailable("Redis", exc)
    stores = [RedisStateStore(client, prefix) for client in clients]
    yield stores
    keys = [key async for key in clients[0].scan_iter(match=prefix + "*")]
    if keys:
        await clients[0].delete(*keys)
    for store in stores:
        await store.close()


def busiest_second(fake: FakeVk) -> int:
    times = sorted(c.at for c in fake.calls_of("users.get"))
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


async def run_processes(fake: FakeVk, paces: list[Pace]) -> float:
    """Seconds all the processes' calls took together."""
    clients = [VkClient(fake.token, fake.url, rate=RATE, pace=pace) for pace in paces]
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        calls = [client.call("users.get", user_ids=1) for client in clients for _ in range(CALLS)]
        await asyncio.gather(*calls)
    finally:
        for client in clients:
            await client.close()
    return loop.time() - started


async def test_two_processes_share_one_pace_through_redis(redis_stores: list[RedisStateStore]) -> None:
    async with FakeVk() as fake:
        took = await run_processes(fake, [SharedPace(store, "vk:pace:test", RATE) for store in redis_stores])
        assert len(fake.calls_of("users.get")) == 2 * CALLS
        # Both processes' calls come out of one bucket of one: after the first, each waits its
        # 1/RATE turn. A lower bound holds however busy the machine is (arrival times at the
        # server bunch when it is busy, so the busiest second seen there is no proof either way).
        assert took >= (2 * CALLS - 1) / RATE - 0.05


async def test_without_the_shared_pace_two_processes_exceed_the_limit() -> None:
    async with FakeVk() as fake:
        await run_processes(fake, [EvenPace(RATE), EvenPace(RATE)])
        assert busiest_second(fake) > RATE + 1  # why the shared pace exists: each process alone keeps to it
