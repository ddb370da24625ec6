"""Answering a pressed button, which spins in the citizen's app until the platform hears back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from adapters.errors import RetryLater, TemporaryFailure

logger = logging.getLogger("okno.adapters")

# a few quick tries, not the outbox's patience: the reply itself goes out whatever happens here
ANSWER_ATTEMPTS = 3
ANSWER_PAUSE = 1.0


async def answer_press(answer: Callable[[], Awaitable[object]], platform: str) -> None:
    """Call `answer` until it goes through, a few times at most; a refusal is logged, not raised."""
    for attempt in range(1, ANSWER_ATTEMPTS + 1):
        try:
            await answer()
            return
        except (RetryLater, TemporaryFailure) as exc:  # too many requests and the like: still spinning
            if attempt == ANSWER_ATTEMPTS:
                logger.info(
                    "a %s button press was not answered after %d attempts: %s", platform, attempt, exc
                )
                return
            pause = exc.seconds if isinstance(exc, RetryLater) else ANSWER_PAUSE
            await asyncio.sleep(min(pause, ANSWER_PAUSE))
        except Exception as exc:  # noqa: BLE001 - an old press is refused; the reply still goes out
            logger.info("a %s button press was not answered: %s", platform, exc)
            return
