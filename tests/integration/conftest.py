"""Integration tests use the real databases and Redis fixtures of tests/conftest.py."""

from collections.abc import AsyncIterator

import pytest

from storage.db import make_engine, make_sessions
from storage.repositories import Repository


@pytest.fixture
async def repository(database_url: str) -> AsyncIterator[Repository]:
    """The bot's repository over each real database in turn."""
    database = make_engine(database_url)
    yield Repository(make_sessions(database))
    await database.dispose()
