"""Shared fixtures: the knowledge base, and real databases and Redis for the tests that need them.

Each test gets its own PostgreSQL database and its own Redis key prefix, and both are
removed afterwards. With CI=true a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

import adapters.telegram  # noqa: F401 - aiogram loaded as `okno run` loads it: models built on first use
from dialog.classifier import Classifier, build_classifier
from dialog.engine import ConversationEngine
from storage.migrate import upgrade_async
from storage.state import MemoryStore, RedisStateStore, StateStore

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEV_SET = SHARED / "eval" / "dev.jsonl"
CONTRACT = SHARED / "faq-topics.yaml"
# Written blind (seeds and topic contract only), frozen before tuning, never tuned on.
BLIND_SETS = sorted((ROOT / "tests" / "data" / "blind").glob("*.jsonl"))
# Written blind too, but after the first tuning, to tune on (like the dev set).
TUNING_SETS = sorted((ROOT / "tests" / "data" / "tuning").glob("*.jsonl"))


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return build_classifier()


@pytest.fixture(scope="session")
def engine(classifier: Classifier) -> ConversationEngine:
    return ConversationEngine(classifier)


PG_ADMIN_DSN = os.environ.get("OKNO_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OKNO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def unavailable(what: str, exc: Exception) -> None:
    message = (
        f"{what} is not reachable ({exc}); start it (see .ci/run) "
        "or set OKNO_TEST_PG_DSN / OKNO_TEST_REDIS_URL"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


async def create_pg_database() -> str:
    name = f"okno_test_{uuid.uuid4().hex[:12]}"
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name


async def drop_pg_database(name: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


@contextlib.asynccontextmanager
async def new_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database of `kind` ("sqlite" or "postgresql"), removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}"
        return
    name = await create_pg_database()
    try:
        yield pg_url(name)
    finally:
        await drop_pg_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables yet."""
    async with new_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    """A database migrated to the newest schema."""
    await upgrade_async(empty_database_url)
    return empty_database_url


@pytest.fixture(params=["memory", "redis"])
async def state_store(request: pytest.FixtureRequest) -> AsyncIterator[StateStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    prefix = f"okno-test-{uuid.uuid4().hex[:8]}:"
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await redis.ping()
    except OSError as exc:
        await redis.aclose()
        unavailable("Redis", exc)
    store = RedisStateStore(redis, prefix)
    try:
        yield store
    finally:
        keys = [key async for key in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await store.close()
