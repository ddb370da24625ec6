"""Receivers' waits that end when the process is asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from adapters.errors import PermanentFailure

logger = logging.getLogger("okno.adapters")

T = TypeVar("T")
MAX_BACKOFF = 30.0  # seconds between tries of a receiver that keeps failing


async def until_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """The result of `work`, or None once `stop` is set first (the work is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    return None


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def receive_until_stopped(
    stop: asyncio.Event,
    step: Callable[[], Awaitable[object]],
    what: str,
    after_failure: Callable[[], None] | None = None,
) -> None:
    """One receiving step after another until `stop`. A failure (the network, the server, the
    database) is logged and the next step waits 2, 4, … up to 30 s; a PermanentFailure ends it."""
    failures = 0
    while not stop.is_set():
        try:
            await step()
            failures = 0
        except PermanentFailure:
            raise
        except Exception:  # the loop must outlive network, server and database trouble
            failures += 1
            delay = min(MAX_BACKOFF, 2.0**failures)
            logger.exception("%s failed; retrying in %.0f s", what, delay)
            if after_failure is not None:
                after_failure()
            await sleep_unless(stop, delay)
