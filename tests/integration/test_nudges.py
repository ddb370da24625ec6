"""Rows stored in one process are a nudge to another over Redis: it looks at once, not at its poll."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis

from bots.nudges import Nudges
from storage.fanout import RedisFanout
from tests.conftest import REDIS_URL

CEILING = 60.0
BURST = 50  # stored updates of many sockets at once


async def test_a_burst_of_nudges_in_one_process_wakes_the_other_with_one_message() -> None:
    prefix = f"okno-test-{uuid.uuid4().hex[:8]}:"
    woken = asyncio.Event()
    web = Nudges(RedisFanout(Redis.from_url(REDIS_URL), prefix, topic="nudges"), lambda: None)
    worker = Nudges(RedisFanout(Redis.from_url(REDIS_URL), prefix, topic="nudges"), woken.set)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(web.run(stop)), asyncio.create_task(worker.run(stop))]
    bursts = 0
    try:
        async with asyncio.timeout(CEILING):
            while not woken.is_set():  # again until the worker's subscription is up
                for _ in range(BURST):
                    web.nudge()
                bursts += 1
                await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for nudges in (web, worker):
            await nudges.fanout.close()  # type: ignore[attr-defined]
    assert woken.is_set() and worker.received >= 1
    assert web.sent <= bursts  # one message a burst, not one a nudge


async def test_a_nudge_for_some_chats_wakes_only_the_process_that_has_them() -> None:
    prefix = f"okno-test-{uuid.uuid4().hex[:8]}:"
    woken = {"owner": asyncio.Event(), "other": asyncio.Event()}

    def fanout() -> RedisFanout:
        return RedisFanout(Redis.from_url(REDIS_URL), prefix, topic="nudges")

    web = Nudges(fanout(), lambda: None)
    owner = Nudges(fanout(), woken["owner"].set, lambda parts: 3 in parts)
    other = Nudges(fanout(), woken["other"].set, lambda parts: 5 in parts)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(n.run(stop)) for n in (web, owner, other)]
    try:
        async with asyncio.timeout(CEILING):
            while not (woken["owner"].is_set() and other.received):  # until both subscriptions are up
                web.nudge([3])
                await asyncio.sleep(0.2)
            woken_by_others_chats = woken["other"].is_set()  # it has heard a nudge for partition 3
            web.nudge()  # rows of any chat: everyone looks
            while not woken["other"].is_set():
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for nudges in (web, owner, other):
            await nudges.fanout.close()  # type: ignore[attr-defined]
    assert not woken_by_others_chats  # only the one for everyone woke it
    assert other.received >= 2
