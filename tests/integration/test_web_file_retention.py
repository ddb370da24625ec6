"""The web chat's files are forgotten after the retention period, on SQLite and PostgreSQL alike;
the clock is a fake one, so no test waits for days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.retention import FileRetention
from storage.web import WebStore


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_files_older_than_the_retention_period_are_deleted_and_newer_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store, clock = WebStore(sessions), FakeClock()
    old = await store.save_file("a" * 32, "old.png", "image/png", b"old")
    retention = FileRetention(store, days=30, clock=clock)
    clock.now += timedelta(days=20)
    assert await retention.sweep() == 0  # 20 days old: kept
    assert await store.file(old) is not None

    clock.now += timedelta(days=11)  # 31 days after it was saved
    assert await retention.sweep() == 1
    assert await store.file(old) is None
    assert await retention.sweep() == 0


async def test_a_file_within_the_period_survives_the_sweep(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store, clock = WebStore(sessions), FakeClock()
    ref = await store.save_file("b" * 32, "photo.png", "image/png", b"photo")
    clock.now += timedelta(days=29, hours=23)
    assert await FileRetention(store, days=30, clock=clock).sweep() == 0
    assert await store.file(ref) is not None
    assert await store.files_since("b" * 32, clock.now - timedelta(days=30)) == (1, 5)


async def test_an_ended_visitor_has_no_conversation_any_more(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = WebStore(sessions)
    assert not await store.conversation_exists("web", "c" * 32)
    await store.end_visitor("c" * 32)
    await store.end_visitor("c" * 32)  # twice is fine (two tabs)
    assert await store.ended("c" * 32)
