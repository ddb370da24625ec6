"""Which partitions of the chats this process works on, among the processes on one PostgreSQL.

The pattern: hash partitions, each leased through a PostgreSQL advisory lock (`pg_try_advisory_lock`
on the pair PARTS, partition), all held on one connection of the process's own, like the single
work's lease (storage/leases.py). Every process also holds a shared lock (MEMBERS, 0), so `pg_locks`
tells how many processes there are and which partitions are taken. Each process takes free
partitions up to its share (the partitions over the processes, rounded up) and gives back what is
over it, one partition once nothing of it is in hand. The server frees a dead process's locks with
its connection; whoever takes those partitions waits out the old holder first, unless the
partition's handover row says it was given back clean (or by this very process).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.leases import CHECK_SECONDS, close_lease_connection, lock_connection
from storage.partitions import PARTITIONS, Shares

logger = logging.getLogger("okno.storage.partition_leases")

MEMBERS = 0x6F6B6E6D  # «okno» + m: (MEMBERS, 0) is held shared by every process
PARTS = 0x6F6B6E70  # «okno» + p: (PARTS, n) is partition n's lease
LEAVE_SECONDS = 15.0  # a partition given back waits this long for its rows in hand, then is kept
# after a lost connection, how long a process takes nothing new: when every connection was lost (a
# PostgreSQL restart), the others ask for their own partitions again meanwhile, rather than find
# them taken by whoever came back first
RELOCK_SECONDS = 2.0

CENSUS = text(
    """
    SELECT
      (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = db.oid
         AND classid::bigint = :members AND objid::bigint = 0 AND objsubid = 2) AS members,
      ARRAY(SELECT objid::int FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = db.oid
         AND classid::bigint = :parts AND objsubid = 2) AS taken
    FROM pg_database db WHERE db.datname = current_database()
    """
)
TRY_LOCKS = text("SELECT p FROM unnest(CAST(:ps AS int[])) AS p WHERE pg_try_advisory_lock(:parts, p)")
HOLDERS = text("SELECT part, holder FROM partition_handovers WHERE part = ANY(CAST(:ps AS int[]))")
CLAIM = text(
    "INSERT INTO partition_handovers (part, holder) SELECT p, :me FROM unnest(CAST(:ps AS int[])) AS p "
    "ON CONFLICT (part) DO UPDATE SET holder = excluded.holder"
)
HAND_BACK = text(
    "UPDATE partition_handovers SET holder = NULL WHERE part = ANY(CAST(:ps AS int[])) AND holder = :me"
)
UNLOCK = text("SELECT pg_advisory_unlock(:parts, p) FROM unnest(CAST(:ps AS int[])) AS p")


class PartitionLease:
    """The chats' queues' lease for `bots.leadership.Leadership`: acquired once connected (with
    whatever share is free), held while the connection answers; `held` also balances the share."""

    detect_seconds = 0.0  # the leadership does not wait: each partition taken is waited for here

    def __init__(self, engine: AsyncEngine, shares: Shares, grace: float) -> None:
        self.engine, self.shares, self.grace = engine, shares, grace
        self.me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # this process, this start
        self.held_parts: set[int] = set()  # locked on the connection
        self.arriving: dict[int, float] = {}  # taken from a holder that may still run: starts then
        self.leaving: dict[int, float] = {}  # given back once nothing of it is in hand, or kept then
        self._connection: AsyncConnection | None = None
        self._taking_from = 0.0  # the loop's time from which free partitions are taken
        self.waited = 0  # partitions taken from a holder that may have still run them
        self.regained = 0  # times every partition was held again after a lost connection

    async def acquire(self) -> bool:
        """Connect (again); after a lost connection, True only if every partition held before is
        held again and nobody took it meanwhile, so the work may go on."""
        if self._connection is None:
            self._connection = await self._connect()
            try:
                if self.held_parts:
                    self._taking_from = asyncio.get_running_loop().time() + RELOCK_SECONDS
                    if not await self._held_again():
                        return False
            except BaseException:  # asked again on a new connection, never taken as held on this one
                await self._drop_connection()
                raise
        await self._balance()
        return True

    async def held(self) -> bool:
        if self._connection is None:
            return False
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                await self._balance()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            logger.warning("the partitions' connection to the database was lost: %s", exc)
            await self._drop_connection()
            return False
        return True

    async def release(self) -> None:
        """At the stop: partitions with nothing in hand are handed back clean."""
        connection = self._connection
        parts = sorted(self.held_parts)
        clean = [p for p in parts if p not in self.arriving and self.shares.idle(p)]
        self.held_parts.clear()
        self.shares.clear()
        if connection is None:
            return
        try:
            await connection.execute(HAND_BACK, {"ps": clean, "me": self.me})
            await connection.execute(UNLOCK, {"parts": PARTS, "ps": parts})
        except (SQLAlchemyError, OSError) as exc:
            logger.debug("the partitions could not be given back: %s", exc)
        await self._drop_connection()

    async def _connect(self) -> AsyncConnection:
        connection = await lock_connection(self.engine, "okno-parts")
        try:
            await connection.execute(
                text("SELECT pg_advisory_lock_shared(:members, 0)"), {"members": MEMBERS}
            )
        except BaseException:
            await close_lease_connection(connection)
            raise
        return connection

    async def _held_again(self) -> bool:
        before = sorted(self.held_parts)
        again = await self._lock(before)
        holders = await self._holders(again)
        kept = [p for p in again if holders.get(p) == self.me]
        if len(kept) == len(before):
            logger.info("the partitions are held again: their work goes on")
            self.regained += 1
            return True
        logger.error(
            "%d partitions were taken meanwhile: the queues' work stops here", len(before) - len(kept)
        )
        await self._unlock([p for p in again if p not in kept])
        self.held_parts = set(kept)
        self.arriving = {p: at for p, at in self.arriving.items() if p in self.held_parts}
        self.leaving.clear()
        self.shares.clear()  # the work is cancelled; what is kept is read again from the database
        self.shares.add(p for p in kept if p not in self.arriving)
        return False

    async def _balance(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        ready = [p for p, at in self.arriving.items() if at <= now]
        for part in ready:
            del self.arriving[part]
        self.shares.add(ready)
        await self._hand_back(now)
        members, taken = await self._census()
        share = math.ceil(PARTITIONS / max(1, members))
        if len(self.held_parts) < share and now >= self._taking_from:
            free = [p for p in range(PARTITIONS) if p not in taken]
            random.shuffle(free)  # processes starting together ask for different ones
            await self._take(free[: share - len(self.held_parts)], now)
        elif len(self.held_parts) > share and not self.leaving:
            self._leave(len(self.held_parts) - share, now)

    async def _census(self) -> tuple[int, set[int]]:
        row = (await self._conn.execute(CENSUS, {"members": MEMBERS, "parts": PARTS})).one()
        return int(row.members), set(row.taken or [])

    async def _take(self, wanted: list[int], now: float) -> None:
        if not wanted:
            return
        got = await self._lock(wanted)
        if not got:
            return
        holders = await self._holders(got)
        await self._conn.execute(CLAIM, {"ps": got, "me": self.me})
        self.held_parts.update(got)
        at_once = [p for p in got if holders.get(p) in (None, self.me)]
        for part in got:
            if part not in at_once:
                self.arriving[part] = now + self.grace
        self.waited += len(got) - len(at_once)
        self.shares.add(at_once)
        logger.info(
            "%d partitions taken (%d now, %d after their old holder's time)",
            len(got),
            len(at_once),
            len(got) - len(at_once),
        )

    def _leave(self, count: int, now: float) -> None:
        """The idle ones first; they stop being read at once."""
        ordered = sorted(self.held_parts - set(self.arriving), key=lambda p: (not self.shares.idle(p), p))
        for part in ordered[:count]:
            self.leaving[part] = now + LEAVE_SECONDS
        self.shares.remove(self.leaving)

    async def _hand_back(self, now: float) -> None:
        empty = [p for p in self.leaving if self.shares.idle(p)]
        late = [p for p, until in self.leaving.items() if p not in empty and until <= now]
        for part in [*empty, *late]:
            del self.leaving[part]
        if late:  # a reply held for a slow job: the partition is kept and read again
            logger.warning("%d partitions were not emptied in %.0f s: kept", len(late), LEAVE_SECONDS)
            self.shares.add(late)
        if empty:
            await self._conn.execute(HAND_BACK, {"ps": empty, "me": self.me})
            await self._unlock(empty)
            logger.info("%d partitions given back to other processes", len(empty))

    async def _lock(self, parts: list[int]) -> list[int]:
        if not parts:
            return []
        result = await self._conn.execute(TRY_LOCKS, {"ps": parts, "parts": PARTS})
        locked: list[Any] = list(result.scalars().all())
        return sorted(int(part) for part in locked)

    async def _unlock(self, parts: list[int]) -> None:
        if parts:
            await self._conn.execute(UNLOCK, {"parts": PARTS, "ps": parts})
            self.held_parts.difference_update(parts)

    async def _holders(self, parts: list[int]) -> dict[int, Any]:
        if not parts:
            return {}
        rows = await self._conn.execute(HOLDERS, {"ps": parts})
        return {int(row.part): row.holder for row in rows}

    @property
    def _conn(self) -> AsyncConnection:
        if self._connection is None:
            raise ConnectionError("the partitions' connection is closed")
        return self._connection

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await close_lease_connection(connection)
