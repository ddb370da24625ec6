"""The state store: conversation state, short-lived keys and rate-limiter buckets.

`RedisStateStore` serves production and several processes; `MemoryStore` the embedded
default. Both implement the same methods and are covered by the same tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
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

# Sliding-window log in one atomic step: at most `limit` entries in the last `window` seconds,
# `spacing` seconds apart; record one now, or say how long until one may be recorded.
_TAKE_SLOT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local spacing = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local wait = 0
if count > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  wait = math.max(wait, tonumber(last[2]) + spacing - now)
end
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + window - now)
end
if wait <= 0 then
  local member = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 60)
  redis.call('EXPIRE', KEYS[2], math.ceil(window) + 60)
  wait = 0
end
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

    async def take_slot(self, key: str, limit: int, window: float, spacing: float) -> float:
        """Record one use if fewer than `limit` fall in the last `window` seconds and the last one is
        `spacing` seconds old; 0 if recorded, else the seconds to wait before retrying."""
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
        self._windows: dict[str, list[float]] = {}
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

    async def take_slot(self, key: str, limit: int, window: float, spacing: float) -> float:
        now = self._clock()
        stamps = [t for t in self._windows.get(key, []) if t > now - window]
        wait = 0.0
        if stamps:
            wait = max(wait, stamps[-1] + spacing - now)
        if len(stamps) >= limit:
            wait = max(wait, stamps[len(stamps) - limit] + window - now)
        if wait <= 0:
            stamps.append(now)
        self._windows[key] = stamps
        return max(wait, 0.0)

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
        self._take_slot = redis.register_script(_TAKE_SLOT)

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

    async def take_slot(self, key: str, limit: int, window: float, spacing: float) -> float:
        name = self._prefix + "window:" + key
        wait = await self._take_slot(keys=[name, name + ":seq"], args=[limit, window, spacing])
        return float(wait)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


class KnownWaits:
    """Waits the state store has answered for rate-limit keys, kept in this process until they pass:
    a key known to be spent is refused without a round trip. Sound for buckets and windows, since
    other processes can only spend them further, never refill them sooner."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, most: int = 10_000) -> None:
        self.clock, self.most = clock, most
        self._until: dict[str, float] = {}

    def left(self, key: str) -> float:
        """Seconds the key is known to stay spent (0: unknown, ask the store)."""
        until = self._until.get(key)
        if until is None:
            return 0.0
        left = until - self.clock()
        if left <= 0:
            del self._until[key]
        return max(left, 0.0)

    def spent(self, key: str, wait: float) -> None:
        """The store said to wait `wait` seconds on `key`; the oldest known go first when full."""
        if len(self._until) >= self.most:
            del self._until[next(iter(self._until))]
        self._until[key] = self.clock() + wait
