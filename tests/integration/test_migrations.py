"""The stairway: every migration goes up, down and up again on both databases."""

import asyncio

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import alembic_config, at_head, downgrade, head_revision, upgrade, upgrade_async

TABLES = {
    "contacts",
    "conversations",
    "messages",
    "inbox_updates",
    "web_ended_visitors",
    "processed_updates",
    "outbox_messages",
    "tickets",
    "ticket_links",
    "ticket_events",
    "handoff_jobs",
    "partition_handovers",
    "desk_posts",
    "cursors",
    "web_files",
    "operator_accounts",
    "ticket_notes",
    "dead_letters",
    "personal_data_access",
}


async def tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test_stairway_up_down_up(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    assert await tables(empty_database_url) == TABLES
    await asyncio.to_thread(downgrade, empty_database_url, "base")
    assert await tables(empty_database_url) == set()
    await asyncio.to_thread(upgrade, empty_database_url)
    assert await tables(empty_database_url) == TABLES


def test_head_read_without_alembic_is_alembics_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()


async def test_startup_skips_alembic_only_at_the_head(empty_database_url: str) -> None:
    assert not await at_head(empty_database_url)  # no alembic_version table yet
    await upgrade_async(empty_database_url)
    assert await at_head(empty_database_url)
    assert await tables(empty_database_url) == TABLES
    await asyncio.to_thread(downgrade, empty_database_url, "-1")
    assert not await at_head(empty_database_url)
    await upgrade_async(empty_database_url)
    assert await at_head(empty_database_url)
