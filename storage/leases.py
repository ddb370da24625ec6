"""Who may run the work that must be single (the pollers, the group's poster, the ticket watch).

On PostgreSQL: a session-level advisory lock, held on a connection of its own. The server lets it go
as soon as that connection ends — the process exited, was killed, or its machine went silent (the
connection's TCP keepalives give up within ~4 s) — and the holder knows it has lost it when the
connection stops answering. On the embedded default (SQLite): a lock on a file beside the database,
taken at start; a second process on the same file is refused, since the embedded default runs one.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.errors import StorageError

logger = logging.getLogger("okno.storage.leases")

SINGLE_WORK = 0x6F6B6E6F  # «okno»: the advisory lock key of the single work
CLOSE_SECONDS = 1.0
CHECK_SECONDS = 2.0  # a lease's connection that does not answer within this is taken as lost
# the server's side: a lock connection whose client went silent is closed after 2 + 2 × 1 s
KEEPALIVES = (
    "SET tcp_keepalives_idle = 2",
    "SET tcp_keepalives_interval = 1",
    "SET tcp_keepalives_count = 2",
)


class AnotherProcess(StorageError):
    """A second process started on the embedded default's database file."""


class Lease(Protocol):
    # how long a check that the lease is still held may take: a new holder waits this (and the old
    # holder's interval between checks) before it starts the work
    detect_seconds: float

    async def acquire(self) -> bool:
        """Take the lease if it is free; True while this process holds it."""
        ...

    async def held(self) -> bool:
        """False once the lease is lost (it must then be acquired again)."""
        ...

    async def release(self) -> None: ...


class AdvisoryLease:
    """A PostgreSQL session-level advisory lock on a connection of its own, outside the pool's churn.
    A process waiting for the lock keeps its connection and asks on it again, rather than open one
    (and set it up) for every try."""

    detect_seconds = CHECK_SECONDS

    def __init__(self, engine: AsyncEngine, key: int = SINGLE_WORK) -> None:
        self.engine, self.key = engine, key
        self._connection: AsyncConnection | None = None
        self._holding = False

    async def acquire(self) -> bool:
        if self._holding:
            return await self.held()
        if self._connection is None:
            self._connection = await lock_connection(self.engine, "okno-wait")
        try:
            taken = await self._connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            if taken:  # named after the process, so that an administrator sees in pg_stat_activity who leads
                await self._connection.execute(text(f"SET application_name = 'okno-lead-{os.getpid()}'"))
        except BaseException:
            await self._drop()
            raise
        self._holding = bool(taken)
        return self._holding

    async def held(self) -> bool:
        connection = self._connection
        if connection is None or not self._holding:
            return False
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            logger.warning("the lease's connection to the database was lost: %s", exc)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        connection = self._connection
        if connection is None:
            return
        if self._holding:
            try:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except (SQLAlchemyError, OSError) as exc:  # gone already: the server has let it go
                logger.debug("the lease could not be given back: %s", exc)
        await self._drop()

    async def _drop(self) -> None:
        connection, self._connection, self._holding = self._connection, None, False
        if connection is not None:
            await close_lease_connection(connection)


class FileLease:
    """An exclusive lock on `<database>.lock`, held from start to stop by the only process."""

    detect_seconds = 0.0  # never lost while the process lives

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._file: IO[str] | None = None

    async def acquire(self) -> bool:
        if self._file is not None:
            return True
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            return _refuse(self.path, holder)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return True

    async def held(self) -> bool:
        return self._file is not None

    async def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def lease_for(engine: AsyncEngine) -> Lease:
    """The lease that suits the database: a file lock for SQLite, an advisory lock for PostgreSQL."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            return Always()
        return FileLease(Path(database).resolve())
    return AdvisoryLease(engine)


class Always:
    """An in-memory database belongs to one process by nature."""

    detect_seconds = 0.0

    async def acquire(self) -> bool:
        return True

    async def held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


def _refuse(path: Path, holder: str) -> bool:
    raise AnotherProcess(
        f"another okno process (pid {holder}) already runs on {path.with_suffix('')}: the embedded "
        "default (SQLite) runs one process. Stop it first, or run several processes on PostgreSQL "
        "and Redis (README, «Several processes»)."
    )


async def lock_connection(engine: AsyncEngine, name: str) -> AsyncConnection:
    """A connection of its own for session-level advisory locks: autocommit, keepalives that let the
    server free the locks soon after its client falls silent, and `<name>-<pid>` in pg_stat_activity."""
    connection = await engine.connect()
    try:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for setting in KEEPALIVES:
            await connection.execute(text(setting))
        await connection.execute(text(f"SET application_name = '{name}-{os.getpid()}'"))
    except BaseException:
        await close_lease_connection(connection)
        raise
    return connection


async def close_lease_connection(connection: AsyncConnection) -> None:
    """Never back to the pool (its session state is the lock's), and never long: a holder finding
    its lease lost must not wait on a dead connection before it can stop the work."""
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            await connection.invalidate()
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        logger.debug("closing a lease's connection failed: %s", exc)
