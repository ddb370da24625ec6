"""Several Okno processes on one MAX token keep to MAX's 30 requests a second together through Redis."""

from __future__ import annotations

import asyncio

from adapters.max.client import MaxClient
from adapters.pacing import EvenPace, Pace
from bots.ratelimit import SharedPace
from storage.state import RedisStateStore
from tests.e2e.test_vk_pace import redis_stores  # noqa: F401 - the fixture: two processes' stores
from tests.fakes.max_api import FakeMax

RATE = 30.0  # MAX's limit for a bot token
CALLS = 45  # per process: three seconds' worth for both


async def run_processes(fake: FakeMax, paces: list[Pace]) -> tuple[float, int]:
    """Seconds all the processes' calls took together, and how many MAX refused as too many."""
    clients = [MaxClient(fake.token, fake.url, rate=RATE, pace=pace) for pace in paces]
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        calls = [client.call("GET", "/me") for client in clients for _ in range(CALLS)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        for client in clients:
            await client.close()
    return loop.time() - started, sum(isinstance(r, Exception) for r in results)


async def test_two_processes_share_one_pace_through_redis(redis_stores: list[RedisStateStore]) -> None:  # noqa: F811
    async with FakeMax() as fake:
        fake.rate_limit(None)  # arrival times bunch on a busy machine: the pace is judged by its own time
        paces: list[Pace] = [SharedPace(store, "max:pace:test", RATE * 0.95) for store in redis_stores]
        took, failed = await run_processes(fake, paces)
        assert failed == 0 and len(fake.calls_of("GET /me")) == 2 * CALLS
        assert took >= (2 * CALLS - 1) / (RATE * 0.95) - 0.05  # one bucket for both processes


async def test_without_the_shared_pace_two_processes_are_refused_as_too_many() -> None:
    async with FakeMax() as fake:
        _, failed = await run_processes(fake, [EvenPace(RATE * 0.95), EvenPace(RATE * 0.95)])
        assert failed > 0 and fake.too_many == failed  # why the pace is shared
