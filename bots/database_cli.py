"""Running one command's work against the configured database: migrated first, closed after."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.settings import Settings
from storage.db import make_engine, make_sessions
from storage.migrate import upgrade_async

Store = TypeVar("Store")


def on_database(
    settings: Settings,
    store: Callable[[async_sessionmaker[AsyncSession]], Store],
    action: Callable[[Store], Awaitable[int]],
) -> int:
    """`action` on a store over the database; its exit code."""

    async def go() -> int:
        await upgrade_async(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            return await action(store(make_sessions(engine)))
        finally:
            await engine.dispose()

    return asyncio.run(go())
