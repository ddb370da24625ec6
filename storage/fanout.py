"""Live pushes to every Okno process: a web-chat reply made in one process reaches the citizen's
socket in whichever process holds it. In memory for one process; Redis pub/sub for several."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("okno.storage.fanout")

Deliver = Callable[[str, dict[str, Any]], object]  # (chat id, frame) to this process's sockets
RETRY_SECONDS = (0.5, 1, 2, 5)


class Fanout(Protocol):
    async def publish(self, chat_id: str, frame: dict[str, Any]) -> None: ...

    async def run(self, deliver: Deliver, stop: asyncio.Event) -> None:
        """Hand every published frame to `deliver` until `stop`."""
        ...


class LocalFanout:
    """One process: a publish is a delivery."""

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, chat_id: str, frame: dict[str, Any]) -> None:
        self._deliver(chat_id, frame)

    async def run(self, deliver: Deliver, stop: asyncio.Event) -> None:
        await stop.wait()  # nothing to listen to


class RedisFanout:
    """Every process subscribes to one channel of the deployment and delivers to its own sockets."""

    def __init__(self, redis: Redis, prefix: str = "okno:", topic: str = "web-chat") -> None:
        self._redis = redis
        self.channel = f"{prefix}{topic}"

    @classmethod
    def from_url(cls, url: str, prefix: str = "okno:", topic: str = "web-chat") -> RedisFanout:
        return cls(Redis.from_url(url, decode_responses=True), prefix, topic)

    async def publish(self, chat_id: str, frame: dict[str, Any]) -> None:
        await self._redis.publish(self.channel, json.dumps([chat_id, frame], ensure_ascii=False))

    async def run(self, deliver: Deliver, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await self._listen(deliver, stop)
                failures = 0
            except (RedisError, OSError) as exc:  # Redis restarts: listen again, a little later each time
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                logger.warning("the %s fan-out lost Redis (%s); again in %.1f s", self.channel, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)

    async def _listen(self, deliver: Deliver, stop: asyncio.Event) -> None:
        async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self.channel)
            while not stop.is_set():
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                try:
                    chat_id, frame = json.loads(message["data"])
                except (ValueError, TypeError):
                    logger.warning("a malformed %s fan-out message was skipped", self.channel)
                    continue
                deliver(str(chat_id), dict(frame))

    async def close(self) -> None:
        await self._redis.aclose()
