"""Core statements for the hot paths: the ORM's bulk machinery costs more than the database there."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Base


def table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def update_by_id(model: type[Base], rows: list[dict[str, Any]]) -> tuple[Update, list[dict[str, Any]]]:
    """UPDATE … SET <the rows' columns> WHERE id = …, and the parameters for executemany."""
    target = table(model)
    values: dict[str, Any] = {name: bindparam(f"b_{name}") for name in rows[0] if name != "id"}
    statement = update(target).where(target.c.id == bindparam("b_id")).values(values)
    return statement, [{f"b_{name}": value for name, value in row.items()} for row in rows]


def upsert(session: AsyncSession, model: type[Base]) -> PgInsert | SqliteInsert:
    """INSERT with ON CONFLICT support in the dialect the session talks to, on the Core table: run
    with a list of rows (executemany), it compiles once and is cached, where the ORM's bulk insert
    or a multi-row `.values(rows)` compiles anew for every number of rows."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table(model))
    return sqlite_insert(table(model))
