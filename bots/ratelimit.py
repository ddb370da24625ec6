"""Outbound rate limits kept in the state store, so every process sharing it keeps to them together."""

from __future__ import annotations

import asyncio

from storage.state import StateStore


class RateLimiter:
    def __init__(
        self,
        store: StateStore,
        name: str,
        per_second: float,
        per_chat_per_second: float,
        burst: float | None = None,
    ) -> None:
        self._store = store
        self._name = name
        self._rate = per_second
        self._chat_rate = per_chat_per_second
        self._burst = burst if burst is not None else max(1.0, per_second)

    async def acquire(self, chat_id: str) -> None:
        """Wait until one more message may go to this chat; a rate of 0 means no limit."""
        if self._chat_rate > 0:  # no bursts within a chat: messages stay evenly spaced
            await self._take(f"{self._name}:chat:{chat_id}", self._chat_rate, 1.0)
        if self._rate > 0:  # the whole bot may burst (by default up to one second's worth)
            await self._take(f"{self._name}:all", self._rate, self._burst)

    async def _take(self, bucket: str, rate: float, capacity: float) -> None:
        while (wait := await self._store.take_token(bucket, rate, capacity)) > 0:
            await asyncio.sleep(wait)


class SharedPace:
    """One request pace for an API token across every process on the same state store
    (VK's limit is per token, not per process): a bucket of one, so requests stay spaced."""

    def __init__(self, store: StateStore, bucket: str, per_second: float) -> None:
        self._store = store
        self._bucket = bucket
        self._rate = per_second

    async def wait(self) -> None:
        while (wait := await self._store.take_token(self._bucket, self._rate, 1.0)) > 0:
            await asyncio.sleep(wait)
