"""The state store: conversation state, short-lived keys and rate-limiter buckets.

`RedisStateStore` serves production and several processes; `MemoryStore` the embedded
default. Both implement the same methods and are covered by the same tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
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

# Sliding-window logs in one atomic step. KEYS come in pairs (log, its sequence); ARGV: window,
# spacing, then each log's limit. A use is granted when every log holds fewer than its limit over
# the last `window` seconds and the first log's last use is `spacing` old; it is then recorded in
# every log. Otherwise the answer is how long until that could be so.
_TAKE_SLOT = """
local window = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local wait = 0
for i = 1, #KEYS, 2 do
  local log = KEYS[i]
  local limit = tonumber(ARGV[2 + (i + 1) / 2])
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  local count = redis.call('ZCARD', log)
  if i == 1 and count > 0 then
    local last = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
    wait = math.max(wait, tonumber(last[2]) + spacing - now)
  end
  if count >= limit then
    local oldest = redis.call('ZRANGE', log, count - limit, count - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
if wait <= 0 then
  for i = 1, #KEYS, 2 do
    local member = redis.call('INCR', KEYS[i + 1])
    redis.call('ZADD', KEYS[i], now, member)
    redis.call('EXPIRE', KEYS[i], math.ceil(window) + 60)
    redis.call('EXPIRE', KEYS[i + 1], math.ceil(window) + 60)
  end
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

    async def take_slot(
        self, key: str, limit: int, window: float, spacing: float, also: Sequence[tuple[str, int]] = ()
    ) -> float:
        """Record one use if fewer than `limit` fall in the last `window` seconds and the last one is
        `spacing` seconds old — and fewer than each of `also`'s limits in its own log, where the use is
        recorded too; 0 if recorded, else the seconds to wait before retrying."""
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

    async def take_slot(
        self, key: str, limit: int, window: float, spacing: float, also: Sequence[tuple[str, int]] = ()
    ) -> float:
        now = self._clock()
        logs = [
            (name, cap, [t for t in self._windows.get(name, []) if t > now - window])
            for name, cap in [(key, limit), *also]
        ]
        wait = 0.0
        if logs[0][2]:
            wait = max(wait, logs[0][2][-1] + spacing - now)
        for _, cap, stamps in logs:
            if len(stamps) >= cap:
                wait = max(wait, stamps[len(stamps) - cap] + window - now)
        for name, _, stamps in logs:
            if wait <= 0:
                stamps.append(now)
            self._windows[name] = stamps
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

    async def take_slot(
        self, key: str, limit: int, window: float, spacing: float, also: Sequence[tuple[str, int]] = ()
    ) -> float:
        logs = [(self._prefix + "window:" + name, cap) for name, cap in [(key, limit), *also]]
        keys = [k for name, _ in logs for k in (name, name + ":seq")]
        wait = await self._take_slot(keys=keys, args=[window, spacing, *(cap for _, cap in logs)])
        return float(wait)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
