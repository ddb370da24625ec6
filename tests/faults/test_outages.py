"""PostgreSQL or Redis going away mid-conversation: Okno keeps running, and once they are back every
message is answered once, in order per chat."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from bots.runner import run_runtime
from bots.settings import Settings
from bots.wiring import Runtime, build_runtime
from dialog.engine import ConversationEngine
from storage.migrate import upgrade_async
from tests.conftest import create_pg_database, drop_pg_database, pg_url
from tests.e2e.conftest import Backend, free_port, make_settings
from tests.fakes.telegram_api import FakeTelegram
from tests.faults.services import CuttableProxy, OwnRedis

pytestmark = pytest.mark.slow

# each message gets one reply of its own kind, so the order of the replies shows the order handled
SCRIPT = [("привет", "Здравствуйте"), ("спасибо", "Рад, что смог помочь"), ("ты бот?", "Я бот-помощник")]
CHATS = [701, 702, 703]


@contextlib.asynccontextmanager
async def okno(
    settings: Settings, engine: ConversationEngine
) -> AsyncIterator[tuple[Runtime, asyncio.Task[None]]]:
    await upgrade_async(settings.database_url)
    runtime = build_runtime(settings, engine)
    stop = asyncio.Event()
    task = asyncio.create_task(run_runtime(runtime, stop))
    try:
        yield runtime, task
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 30)
        finally:
            await runtime.close()


async def until(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {timeout} s for {what}"
        await asyncio.sleep(0.05)


def replies(fake: FakeTelegram, chat: int) -> list[str]:
    return [
        str(c.params["text"])
        for c in fake.calls_of("sendMessage")
        if c.params.get("chat_id") == chat and c.status == 200
    ]


def leading(runtime: Runtime) -> bool:
    return runtime.leading is not None and runtime.leading.is_set()


async def converse_through(
    fake: FakeTelegram,
    runtime: Runtime,
    task: asyncio.Task[None],
    take_away: Callable[[], Awaitable[None]],
    bring_back: Callable[[], Awaitable[None]],
) -> None:
    """One message per chat answered; the service taken away; the rest of the script sent; the
    service back: everything answered once and in order, and Okno never stopped."""
    first, *rest = SCRIPT
    for chat in CHATS:
        fake.message_update(chat, first[0])
    await until(lambda: all(len(replies(fake, c)) == 1 for c in CHATS), "the first replies")
    await take_away()
    for text, _ in rest:
        for chat in CHATS:
            fake.message_update(chat, text)
    # the inbox waits the outage out; or, when the database is the one away, the process finds its
    # lease on the work lost and stops the work until it holds the lease again
    await until(
        lambda: runtime.updates.outage.away or not leading(runtime) or task.done(), "the outage noticed"
    )
    assert not task.done(), task
    await bring_back()
    await until(lambda: all(len(replies(fake, c)) >= len(SCRIPT) for c in CHATS) or task.done(), "answers")
    assert not task.done(), task
    for chat in CHATS:
        got = replies(fake, chat)
        assert len(got) == len(SCRIPT), got  # none lost, none doubled
        assert [start for _, start in SCRIPT] == [next(s for _, s in SCRIPT if g.startswith(s)) for g in got]


async def test_redis_killed_and_back_empty_loses_nothing(
    fake: FakeTelegram, tmp_path: Path, engine: ConversationEngine
) -> None:
    redis = OwnRedis(tmp_path)
    redis.start()
    backend = Backend(f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}", redis.url, "okno:")
    try:
        async with okno(make_settings(fake, backend), engine) as (runtime, task):

            async def restart() -> None:
                await asyncio.to_thread(redis.start)

            await converse_through(fake, runtime, task, lambda: asyncio.to_thread(redis.kill), restart)
    finally:
        redis.kill()


async def test_postgresql_cut_off_and_back_loses_nothing(
    fake: FakeTelegram, engine: ConversationEngine
) -> None:
    name = await create_pg_database()
    proxy = CuttableProxy(5432)
    await proxy.start()
    url = pg_url(name).replace(":5432/", f":{proxy.port}/")
    assert str(proxy.port) in url
    backend = Backend(url, None, f"okno-faults-{uuid.uuid4().hex[:8]}:")
    try:
        async with okno(make_settings(fake, backend), engine) as (runtime, task):
            await converse_through(fake, runtime, task, proxy.cut, proxy.restore)
    finally:
        await proxy.close()
        await drop_pg_database(name)


async def test_readyz_tells_an_orchestrator_that_the_state_store_is_away(
    fake: FakeTelegram, tmp_path: Path, engine: ConversationEngine
) -> None:
    redis = OwnRedis(tmp_path)
    redis.start()
    port = free_port()
    backend = Backend(f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}", redis.url, "okno:")
    settings = make_settings(fake, backend, web_chat=True, web_host="127.0.0.1", web_port=port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with okno(settings, engine), aiohttp.ClientSession() as http:

            async def probe(path: str) -> tuple[int, dict[str, object]]:
                async with http.get(base + path) as response:
                    return response.status, await response.json()

            await until_listening(http, base)
            ready = {"ready": True, "database": "ok", "state_store": "ok", "telegram": "ok"}
            assert await probe("/readyz") == (200, ready)
            fake.fail_next_with_html("getMe")  # the Bot API behind a 502 page
            status, body = await probe("/readyz")
            assert status == 503 and body["telegram"] != "ok" and body["database"] == "ok", body
            assert await probe("/readyz") == (200, ready)  # and back
            await asyncio.to_thread(redis.kill)
            status, body = await probe("/readyz")
            assert status == 503 and body["state_store"] != "ok" and body["database"] == "ok", body
            assert (await probe("/healthz"))[0] == 200  # alive: no reason to restart it
            await asyncio.to_thread(redis.start)
            await until_ready(probe)
    finally:
        redis.kill()


async def until_listening(http: aiohttp.ClientSession, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with http.get(base + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            assert time.monotonic() < deadline, "the web server did not start"
        await asyncio.sleep(0.05)


async def until_ready(probe: Callable[[str], Awaitable[tuple[int, dict[str, object]]]]) -> None:
    deadline = time.monotonic() + 60
    while (await probe("/readyz"))[0] != 200:
        assert time.monotonic() < deadline, "not ready 60 s after Redis came back"
        await asyncio.sleep(0.1)
