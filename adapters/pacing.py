"""A request pace for an API token whose limit counts requests a second (VK's, MAX's)."""

from __future__ import annotations

import asyncio
from typing import Protocol

PACE_MARGIN = 0.95  # the API counts a sliding second as its server sees it: keep some headroom


class Pace(Protocol):
    """Waits for the token's next request slot; one per token, however many processes share it."""

    async def wait(self) -> None: ...


class EvenPace:
    """Requests evenly spaced at `rate` a second, first come first served, within this process."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next_slot = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
