"""The retention job: citizens with nothing new for OKNO_RETENTION_DAYS are anonymized, hourly."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from storage.privacy_store import PrivacyStore

logger = logging.getLogger("okno.bots.retention")

INTERVAL_SECONDS = 3600.0


class RetentionJob:
    def __init__(self, store: PrivacyStore, days: float, interval: float = INTERVAL_SECONDS) -> None:
        self.store = store
        self.days = days
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.once()
            except Exception:  # the next round tries again; the bot goes on meanwhile
                logger.exception("the retention purge failed this round")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    async def once(self) -> int:
        count = await self.store.purge(self.days)
        if count:
            logger.info(
                "retention: %d citizen(s) with nothing newer than %g days anonymized", count, self.days
            )
        return count
