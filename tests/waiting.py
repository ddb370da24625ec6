"""Waiting in tests for what the code under test will do: on a condition, with a generous ceiling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

CEILING = 60.0  # seconds: a generous bound on waiting for a condition, never a timing


async def until(condition: Callable[[], bool], what: str, ceiling: float = CEILING) -> float:
    """Seconds until `condition` holds, checked every 50 ms; the test fails naming `what` if it never does."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(ceiling):
            while not condition():
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"never happened: {what}")
    return time.monotonic() - started
