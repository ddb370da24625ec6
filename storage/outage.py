"""Waiting out a database or Redis that is away, instead of failing the work that needed it.

A restart of PostgreSQL or Redis ends connections and refuses new ones for a while; that says
nothing about the update, reply or job being worked on. Workers call `until_back` around such
calls: it retries with a growing pause, logs once when the service goes and once when it is back,
and lets every other error through to the worker's own handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

T = TypeVar("T")

FIRST_PAUSE = 0.5
# PostgreSQL's SQLSTATE classes for a connection lost or refused (08) and a server going down or
# starting up (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now)
_SERVER_AWAY = re.compile(r"08|57P0[123]")
MAX_PAUSE = 15.0

_AWAY = (
    RedisConnectionError,  # also Redis loading its data after a restart
    RedisTimeoutError,
    OperationalError,  # PostgreSQL shutting down or starting up, SQLite busy
    InterfaceError,  # a connection the server closed
    PoolTimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_outage(exc: BaseException) -> bool:
    """The error says a service is unreachable, not that the work is wrong."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _AWAY):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OSError) and not isinstance(current, FileNotFoundError | PermissionError):
            return True  # refused or reset connections; asyncpg raises them unwrapped
        if _SERVER_AWAY.match(str(getattr(current, "sqlstate", None) or "")):
            return True  # «the database system is shutting down», which SQLAlchemy wraps as a plain Error
        current = current.__cause__ or current.__context__
    return False


class Outage:
    """One worker's view of a service being away: the pause to wait and what was logged."""

    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._logger = logger
        self._sleep = sleep
        self._clock = clock
        self._since: float | None = None
        self._pause = FIRST_PAUSE
        self.waits = 0  # pauses taken since the start, for tests and metrics

    @property
    def away(self) -> bool:
        return self._since is not None

    async def wait(self, exc: BaseException) -> None:
        if self._since is None:
            self._since = self._clock()
            self._logger.warning("%s: a service is unreachable (%s); waiting for it", self.name, _short(exc))
        self.waits += 1
        await self._sleep(self._pause * random.uniform(0.75, 1.0))  # jitter, not security
        self._pause = min(MAX_PAUSE, self._pause * 2)

    def recovered(self) -> None:
        if self._since is not None:
            self._logger.warning("%s: back after %.1f s", self.name, self._clock() - self._since)
        self._since = None
        self._pause = FIRST_PAUSE


async def until_back(call: Callable[[], Awaitable[T]], outage: Outage) -> T:
    """`call()`, again and again while the error is an outage; any other error is raised."""
    while True:
        try:
            result = await call()
        except Exception as exc:
            if not is_outage(exc):
                raise
            await outage.wait(exc)
            continue
        outage.recovered()
        return result


@contextlib.contextmanager
def left_for_next_start(logger: logging.Logger, what: str) -> Iterator[None]:
    """For the last reads at shutdown: a service away leaves `what` for the next start instead of
    failing the stop; any other error is raised."""
    try:
        yield
    except Exception as exc:
        if not is_outage(exc):
            raise
        logger.warning("stopping while a service is away; %s wait for the next start", what)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
