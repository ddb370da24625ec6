"""The state store: conversation state, short-lived keys and rate-limiter buckets.

`RedisStateStore` serves production and several processes; `MemoryStore` the embedded
default. Both implement the same methods and are covered by the same tests.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from redis.asyncio import Redis

# Token bucket in one atomic step: refill by elapsed time, take one token or say how long to wait.
_TAKE_TOKEN = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')  -- Redis's clock: processes on several hosts share one time
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return tostring(wait)
"""


class StateStore(Protocol):
    async def load(self, key: str) -> dict[str, Any] | None: ...

    async def save(self, key: str, value: dict[str, Any], ttl: float | None = None) -> None: ...

    async def load_many(self, keys: list[str]) -> list[dict[str, Any] | None]:
        """Several values in one round trip, in the order of `keys`."""
        ...

    async def save_many(self, values: dict[str, dict[str, Any]]) -> None:
        """Several values in one round trip."""
        ...

    async def claim(self, key: str, ttl: float) -> bool:
        """Set a short-lived key unless it exists; True for the first caller."""
        ...

    async def take_token(self, bucket: str, rate: float, capacity: float) -> float:
        """Take a token from a bucket; 0 if granted, else the seconds to wait before retrying."""
        ...

    async def ping(self) -> None:
        """Raises if the store cannot be reached."""
        ...

    async def close(self) -> None: ...


class MemoryStore:
    """This process's memory; values go through JSON so they behave as in Redis."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._values: dict[str, tuple[str, float | None]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._clock = clock

    def _alive(self, key: str) -> str | None:
        item = self._values.get(key)
        if item is None:
            return None
        raw, expires = item
        if expires is not None and expires <= self._clock():
            del self._values[key]
            return None
        return raw

    async def load(self, key: str) -> dict[str, Any] | None:
        raw = self._alive(key)
        return None if raw is None else dict(json.loads(raw))

    async def save(self, key: str, value: dict[str, Any], ttl: float | None = None) -> None:
        expires = None if ttl is None else self._clock() + ttl
        self._values[key] = (json.dumps(value, ensure_ascii=False), expires)

    async def load_many(self, keys: list[str]) -> list[dict[str, Any] | None]:
        return [await self.load(key) for key in keys]

    async def save_many(self, values: dict[str, dict[str, Any]]) -> None:
        for key, value in values.items():
            await self.save(key, value)

    async def claim(self, key: str, ttl: float) -> bool:
        if self._alive(key) is not None:
            return False
        self._values[key] = ("{}", self._clock() + ttl)
        return True

    async def take_token(self, bucket: str, rate: float, capacity: float) -> float:
        now = self._clock()
        tokens, at = self._buckets.get(bucket, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / rate
        self._buckets[bucket] = (tokens, now)
        return wait

    async def ping(self) -> None:
        return None  # this process's memory is always there

    async def close(self) -> None:
        self._values.clear()


class RedisStateStore:
    """Redis, with every key under a prefix so several deployments can share a server."""

    def __init__(self, redis: Redis, prefix: str = "okno:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._take = redis.register_script(_TAKE_TOKEN)

    @classmethod
    def from_url(cls, url: str, prefix: str = "okno:") -> RedisStateStore:
        return cls(Redis.from_url(url, decode_responses=True), prefix)

    async def load(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.get(self._prefix + key)
        return None if raw is None else dict(json.loads(raw))

    async def save(self, key: str, value: dict[str, Any], ttl: float | None = None) -> None:
        data = json.dumps(value, ensure_ascii=False)
        await self._redis.set(self._prefix + key, data, px=None if ttl is None else int(ttl * 1000))

    async def load_many(self, keys: list[str]) -> list[dict[str, Any] | None]:
        if not keys:
            return []
        raws = await self._redis.mget([self._prefix + key for key in keys])
        return [None if raw is None else dict(json.loads(raw)) for raw in raws]

    async def save_many(self, values: dict[str, dict[str, Any]]) -> None:
        if values:
            await self._redis.mset(
                {self._prefix + k: json.dumps(v, ensure_ascii=False) for k, v in values.items()}
            )

    async def claim(self, key: str, ttl: float) -> bool:
        return bool(await self._redis.set(self._prefix + key, "1", nx=True, px=int(ttl * 1000)))

    async def take_token(self, bucket: str, rate: float, capacity: float) -> float:
        wait = await self._take(keys=[self._prefix + "bucket:" + bucket], args=[rate, capacity])
        return float(wait)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
