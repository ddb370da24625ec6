"""How much work waits in each queue, and since when: read for /metrics at each scrape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import as_utc
from storage.models import DeadLetter, HandoffJob, InboxUpdate, OutboxMessage, TicketRow

Queues = dict[str, tuple[int, datetime | None]]


async def queue_snapshot(sessions: async_sessionmaker[AsyncSession]) -> tuple[Queues, dict[str, int], int]:
    """(waiting, oldest since) per queue; tickets by status; dead letters kept."""
    waiting: dict[str, tuple[Any, Any]] = {
        "inbox": (InboxUpdate.received_at, InboxUpdate.done.is_(False)),
        "outbox": (OutboxMessage.created_at, OutboxMessage.sent.is_(False) & OutboxMessage.failed.is_(None)),
        "handoff_jobs": (HandoffJob.created_at, HandoffJob.done.is_(False)),
    }
    queues: Queues = {}
    async with sessions() as session:
        for name, (since, pending) in waiting.items():
            row = (await session.execute(select(func.count(), func.min(since)).where(pending))).one()
            oldest = row[1] if isinstance(row[1], datetime) else None
            queues[name] = (int(row[0] or 0), None if oldest is None else as_utc(oldest))
        rows = await session.execute(select(TicketRow.status, func.count()).group_by(TicketRow.status))
        tickets = {str(status): int(count) for status, count in rows.all()}
        dead = int(await session.scalar(select(func.count()).select_from(DeadLetter)) or 0)
    return queues, tickets, dead
