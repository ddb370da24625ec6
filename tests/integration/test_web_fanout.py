"""Two Okno processes on one Redis: a reply made in one reaches the citizen's socket held by the other."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from adapters.web.channel import WebChannel
from dialog.messages import Button
from storage.db import make_engine, make_sessions
from storage.fanout import RedisFanout
from storage.migrate import upgrade_async
from storage.web import WebStore
from tests.conftest import REDIS_URL


async def test_a_reply_reaches_the_socket_in_another_process(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}"
    await upgrade_async(url)
    engine = make_engine(url)
    prefix = f"okno-test-{uuid.uuid4().hex[:8]}:"
    fanouts = [RedisFanout.from_url(REDIS_URL, prefix) for _ in range(2)]
    sender, holder = (WebChannel(WebStore(make_sessions(engine)), fanout=f) for f in fanouts)
    stop = asyncio.Event()
    listeners = [asyncio.create_task(c.fanout.run(c.hub.publish, stop)) for c in (sender, holder)]
    socket = holder.hub.subscribe("visitor-1")
    try:
        for _ in range(100):  # the subscriptions take a moment
            await sender.send("visitor-1", "ping", (), key=None)
            if not socket.empty():
                break
            await asyncio.sleep(0.05)
        await sender.send("visitor-1", "Ваше обращение № 10001-6 принято", (Button("status", "Статус"),))
        async with asyncio.timeout(5):
            while (frame := await socket.get()) is not None and frame["text"] == "ping":
                pass  # pings still on their way
        assert frame is not None and frame["text"] == "Ваше обращение № 10001-6 принято"
        assert frame["buttons"] == [{"id": "status", "label": "Статус"}]
        assert sender.hub.sockets() == 0  # the sending process holds no socket of this visitor
    finally:
        stop.set()
        await asyncio.gather(*listeners)
        for fanout in fanouts:
            await fanout.close()
        await engine.dispose()
