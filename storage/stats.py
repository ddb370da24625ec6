"""Reads for `okno stats`: the tickets and messages of a period as plain records."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, func, inspect, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import as_utc, is_sqlite, make_engine
from storage.errors import StorageError
from storage.models import Conversation, Message, TicketRow

log = logging.getLogger("okno.storage.stats")

REQUIRED_TABLES = frozenset({"conversations", "messages", "tickets"})
_STREAM_CHUNK = 5000  # inbound messages fetched at a time, so a busy month does not sit in memory


class SchemaMissing(StorageError):
    """The database has no tables to report on: it was never migrated."""


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """One ticket opened in the period: what the report needs of it."""

    channel: str
    chat_id: str
    status: str
    level: int
    opened_at: datetime
    taken_at: datetime | None
    resolved_at: datetime | None
    rating: int | None


@dataclass(frozen=True, slots=True)
class MessageCount:
    channel: str
    direction: str  # "in" or "out"
    count: int


@dataclass(frozen=True, slots=True)
class HourCount:
    """Inbound messages within one clock hour, which starts at `hour` (UTC)."""

    hour: datetime
    count: int


@dataclass(frozen=True, slots=True)
class StatsData:
    """Everything `okno stats` reads; times are aware, in UTC."""

    since: datetime
    until: datetime
    channel: str | None
    tickets: tuple[TicketFacts, ...]
    messages: tuple[MessageCount, ...]
    inbound_hours: tuple[HourCount, ...]
    active_chats: frozenset[tuple[str, str]]  # (channel, chat id) with an inbound message


async def load_stats(url: str, since: datetime, until: datetime, channel: str | None = None) -> StatsData:
    """Read the period [since, until), one channel or all; SchemaMissing if not migrated."""
    _require_sqlite_file(url)
    engine = make_engine(url)
    try:
        return await stats_of(engine, since, until, channel)
    finally:
        await engine.dispose()


async def stats_of(
    engine: AsyncEngine, since: datetime, until: datetime, channel: str | None = None
) -> StatsData:
    """The period's figures over an engine already open (the running process's own pool)."""
    async with engine.connect() as connection:
        missing = await connection.run_sync(_missing_tables)
        if missing:
            raise SchemaMissing(f"the database has no tables {', '.join(missing)}")
        return await read_stats(connection, as_utc(since), as_utc(until), channel)


def _require_sqlite_file(url: str) -> None:
    # Opening a missing SQLite file would create an empty one, so say so instead.
    if not is_sqlite(url):
        return
    database = make_url(url).database
    if database and database != ":memory:" and not Path(database).exists():
        raise SchemaMissing(f"there is no database file {database}")


def _missing_tables(connection: Connection) -> list[str]:
    return sorted(REQUIRED_TABLES - set(inspect(connection).get_table_names()))


async def read_stats(
    connection: AsyncConnection, since: datetime, until: datetime, channel: str | None
) -> StatsData:
    """The records of the period on an open connection; `since` and `until` must be in UTC."""
    # SQLite compares the stored UTC text, so the bounds must be UTC as well.
    tickets = await _tickets(connection, since, until, channel)
    messages = await _message_counts(connection, since, until, channel)
    hours, chats = await _inbound(connection, since, until, channel)
    log.debug("read %d tickets and %d active chats", len(tickets), len(chats))
    return StatsData(since, until, channel, tickets, messages, hours, chats)


async def _tickets(
    connection: AsyncConnection, since: datetime, until: datetime, channel: str | None
) -> tuple[TicketFacts, ...]:
    t = TicketRow
    query = select(
        t.channel, t.chat_id, t.status, t.level, t.opened_at, t.taken_at, t.resolved_at, t.rating
    ).where(t.opened_at >= since, t.opened_at < until)
    if channel is not None:
        query = query.where(t.channel == channel)
    rows = await connection.execute(query.order_by(t.id))
    return tuple(
        TicketFacts(
            channel=row.channel,
            chat_id=row.chat_id,
            status=row.status,
            level=row.level,
            opened_at=as_utc(row.opened_at),
            taken_at=_maybe_utc(row.taken_at),
            resolved_at=_maybe_utc(row.resolved_at),
            rating=row.rating,
        )
        for row in rows
    )


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _of_period(since: datetime, until: datetime, channel: str | None) -> list[ColumnElement[bool]]:
    """Conditions on messages joined to their conversations."""
    conditions = [Message.created_at >= since, Message.created_at < until]
    return conditions if channel is None else [*conditions, Conversation.channel == channel]


async def _message_counts(
    connection: AsyncConnection, since: datetime, until: datetime, channel: str | None
) -> tuple[MessageCount, ...]:
    query = (
        select(Conversation.channel, Message.direction, func.count())
        .join_from(Message, Conversation, Message.conversation_id == Conversation.id)
        .where(*_of_period(since, until, channel))
        .group_by(Conversation.channel, Message.direction)
    )
    rows = await connection.execute(query.order_by(Conversation.channel, Message.direction))
    return tuple(MessageCount(str(ch), str(direction), int(n)) for ch, direction, n in rows)


async def _inbound(
    connection: AsyncConnection, since: datetime, until: datetime, channel: str | None
) -> tuple[tuple[HourCount, ...], frozenset[tuple[str, str]]]:
    """Inbound messages by UTC clock hour, and the chats they came from, in one streamed pass."""
    query = (
        select(Conversation.channel, Conversation.chat_id, Message.created_at)
        .join_from(Message, Conversation, Message.conversation_id == Conversation.id)
        .where(Message.direction == "in", *_of_period(since, until, channel))
    )
    hours: Counter[datetime] = Counter()
    chats: set[tuple[str, str]] = set()
    result = await connection.stream(query.execution_options(yield_per=_STREAM_CHUNK))
    async for ch, chat_id, created_at in result:
        hours[as_utc(created_at).replace(minute=0, second=0, microsecond=0)] += 1
        chats.add((str(ch), str(chat_id)))
    return tuple(HourCount(h, hours[h]) for h in sorted(hours)), frozenset(chats)
