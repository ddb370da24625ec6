"""The web chat's files are not kept for ever: a periodic job forgets those older than
OKNO_WEB_FILE_RETENTION_DAYS (citizens' photos and recordings, and what operators sent them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from storage.web import WebStore

logger = logging.getLogger("okno.bots.retention")

SWEEP_SECONDS = 3600.0  # how often the job looks; files go at most this late


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
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:  # the database is away: the next sweep tries again
                logger.exception("the web chat files' retention sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)
