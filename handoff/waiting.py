"""Waiting on two events at once: a loop's wake-up call or its stop, whichever comes first."""

from __future__ import annotations

import asyncio


async def wait_for_either(first: asyncio.Event, second: asyncio.Event, timeout: float) -> None:
    """Return when either event is set or the timeout passes."""
    waiters = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
