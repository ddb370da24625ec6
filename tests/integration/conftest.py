"""Integration tests use the real databases and Redis fixtures of tests/conftest.py."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import make_engine, make_sessions
from storage.repositories import Repository
from storage.tickets import TicketStore


@pytest.fixture
async def repository(database_url: str) -> AsyncIterator[Repository]:
    """The bot's repository over each real database in turn."""
    database = make_engine(database_url)
    yield Repository(make_sessions(database))
    await database.dispose()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture
def store(sessions: async_sessionmaker[AsyncSession]) -> TicketStore:
    """The ticket store over each real database in turn."""
    return TicketStore(sessions)
