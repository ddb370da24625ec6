"""Keeping nothing for ever, hourly: the web chat's files older than OKNO_WEB_FILE_RETENTION_DAYS
are deleted, and citizens with nothing new for OKNO_RETENTION_DAYS are anonymized."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from storage.privacy_store import PrivacyStore
from storage.web import WebStore

logger = logging.getLogger("okno.bots.retention")

SWEEP_SECONDS = 3600.0  # how often the jobs look; what is due goes at most this late


async def every(seconds: float, stop: asyncio.Event, job: Callable[[], Awaitable[int]], what: str) -> None:
    """`job` now and then every `seconds` until `stop`; a failed round (the database away) is logged
    and the next one tries again."""
    while not stop.is_set():
        try:
            await job()
        except Exception:  # the bot goes on meanwhile; the next round tries again
            logger.exception("%s failed this round", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


class FileRetention:
    def __init__(
        self,
        store: WebStore,
        days: float,
        clock: Callable[[], datetime] | None = None,
        every: float = SWEEP_SECONDS,
    ) -> None:
        self.store, self.days, self.every = store, days, every
        self.clock = clock or (lambda: datetime.now(UTC))

    async def sweep(self) -> int:
        """Forget the files older than the retention period now; how many went."""
        gone = await self.store.delete_files_before(self.clock() - timedelta(days=self.days))
        if gone:
            logger.info("%d web chat files older than %g days were deleted", gone, self.days)
        return gone

    async def run(self, stop: asyncio.Event) -> None:
        await every(self.every, stop, self.sweep, "the web chat files' retention sweep")


class RetentionJob:
    def __init__(self, store: PrivacyStore, days: float, interval: float = SWEEP_SECONDS) -> None:
        self.store = store
        self.days = days
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        await every(self.interval, stop, self.once, "the retention purge")

    async def once(self) -> int:
        count = await self.store.purge(self.days)
        if count:
            logger.info(
                "retention: %d citizen(s) with nothing newer than %g days anonymized", count, self.days
            )
        return count
