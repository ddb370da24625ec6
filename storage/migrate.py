"""Applying Alembic migrations from code: `okno db upgrade` and startup of `okno run`.

Alembic (with Mako and Pygments, ~11 MB and ~0.2 s) is imported only when there is something to
migrate: `okno run` first reads the database's revision and, at the head already, goes on without it.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r'^(down_revision|revision)\b[^=]*=\s*"([^"]+)"', re.MULTILINE)


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see the module's docstring

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command  # noqa: PLC0415

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command  # noqa: PLC0415

    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The newest migration's revision, read from the scripts' `revision = "…"` lines without Alembic;
    None unless there is exactly one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        for kind, value in _REVISION.findall(script.read_text(encoding="utf-8")):
            (revisions if kind == "revision" else parents).add(value)
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


async def at_head(url: str, engine: AsyncEngine | None = None) -> bool:
    """The database is at the newest migration (False when unsure: then Alembic decides). Asked over
    `engine` if given (the process's own), else over one made for the question."""
    head = head_revision()
    if head is None:
        return False
    asking = engine or make_engine(url)
    try:
        async with asking.connect() as connection:
            rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    except (SQLAlchemyError, OSError):  # no table yet, or no database: Alembic creates or reports it
        return False
    finally:
        if engine is None:
            await asking.dispose()
    return [row[0] for row in rows] == [head]


async def upgrade_async(url: str, engine: AsyncEngine | None = None) -> None:
    """Run from a running event loop: Alembic's env starts a loop of its own, so use a thread."""
    if await at_head(url, engine):
        return
    await asyncio.to_thread(upgrade, url)
