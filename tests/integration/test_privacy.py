"""`okno privacy`: a citizen's data exported whole, forgotten for good without changing statistics,
purged after the retention period (only the old, never on a dry run), and every access logged."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.cli import main
from bots.retention import RetentionJob
from handoff.stats import build_report
from storage.models import (
    Contact,
    Conversation,
    DeskPost,
    HandoffJob,
    InboxUpdate,
    Message,
    OutboxMessage,
    PersonalDataAccess,
    TicketEvent,
    TicketNote,
    TicketRow,
    WebFile,
)
from storage.privacy import MARKER
from storage.privacy_store import PrivacyStore
from storage.stats import load_stats
from tests.integration.privacy_helpers import NOW, OLD, RECENT, SECRET, citizen


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await citizen(session, "web", "w-1", OLD, "A-1")  # the one forgotten or purged
        await citizen(session, "telegram", "222", RECENT, "A-2")  # someone else, recent


async def cli(args: list[str]) -> int:
    return await asyncio.to_thread(main, args)


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OKNO_DATABASE_URL", database_url)
    return database_url


async def everything(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Every text column of the tables a citizen is in, as one string to search."""
    found = []
    async with sessions() as session:
        for model in (
            Contact,
            Conversation,
            Message,
            InboxUpdate,
            OutboxMessage,
            TicketRow,
            TicketEvent,
            TicketNote,
            DeskPost,
            HandoffJob,
        ):
            for row in await session.scalars(select(model)):
                found.append(repr({c.key: getattr(row, c.key) for c in model.__table__.columns}))
    return "\n".join(found)


async def report(url: str) -> Any:
    return build_report(await load_stats(url, NOW - timedelta(days=1000), NOW, None))


async def test_export_gives_everything_about_one_citizen_and_is_logged(
    env: str, sessions: async_sessionmaker[AsyncSession], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await seed(sessions)
    capsys.readouterr()
    assert await cli(["privacy", "export", "web:w-1", "--actor", "dpo@okno"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["contact"]["external_id"] == "w-1"
    [chat] = data["conversations"]
    assert [m["text"] for m in chat["messages"]] == [SECRET, "Ответ"]
    [ticket] = data["tickets"]
    assert (ticket["number"], ticket["snils"], ticket["description"]) == ("A-1", "11223344595", SECRET)
    assert [len(ticket[k]) for k in ("events", "notes", "links")] == [2, 1, 1]
    [file] = data["files"]
    assert file["name"] == "скан.jpg" and "data" not in file and "data_base64" not in file
    assert "A-2" not in json.dumps(data)  # nobody else's

    out = tmp_path / "export.json"
    assert await cli(["privacy", "export", "web:w-1", "--with-files", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["files"][0]["data_base64"] == "YWJj"

    assert await cli(["privacy", "export", "telegram:404"]) == 2
    assert "CHANNEL:ID" in capsys.readouterr().err
    assert await cli(["privacy", "audit", "--contact", "web:w-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("export" in line and "web:w-1" in line for line in lines)
    assert any("dpo@okno" in line for line in lines) and any("os:" in line for line in lines)


async def test_forget_anonymizes_one_citizen_keeps_statistics_and_is_idempotent(
    env: str, sessions: async_sessionmaker[AsyncSession], capsys: pytest.CaptureFixture[str]
) -> None:
    await seed(sessions)
    before = await report(env)
    assert (await everything(sessions)).count(SECRET) == 20  # 10 places each
    assert await cli(["privacy", "forget", "web:w-1", "--yes"]) == 0
    after_once = await everything(sessions)
    assert after_once.count(SECRET) == 10  # the other citizen's message, update, ticket, note…
    assert "Иван Иванов" in after_once  # …and name stay
    async with sessions() as session:
        ticket = await session.scalar(select(TicketRow).where(TicketRow.number == "A-1"))
        assert ticket is not None
        assert (ticket.snils, ticket.phone, ticket.identification, ticket.transcript) == (None, None, {}, [])
        assert {ticket.description, ticket.citizen_name, ticket.callback_time, ticket.rating_comment} == {
            MARKER
        }
        assert (ticket.status, ticket.rating) == ("closed", 5)
        contact = await session.scalar(select(Contact).where(Contact.external_id == "w-1"))
        assert contact is not None and contact.display_name == MARKER and contact.forgotten_at is not None
        assert await session.scalar(select(WebFile.ref)) is None
        texts = await session.scalars(select(Message.text).order_by(Message.id))
        assert list(texts)[:2] == [MARKER, MARKER]
    assert await report(env) == before  # statistics add up the same

    assert await cli(["privacy", "forget", "web:w-1", "--yes"]) == 0  # again: nothing more changes
    again = await everything(sessions)
    assert again.count(SECRET) == 10 and again.count(MARKER) == after_once.count(MARKER)
    assert await report(env) == before
    assert await cli(["privacy", "forget", "web:nobody", "--yes"]) == 2
    assert await cli(["privacy", "forget", "web:w-1"]) == 1  # no terminal to confirm: nothing done
    assert "--yes" in capsys.readouterr().err


async def test_purge_anonymizes_only_the_old_and_a_dry_run_changes_nothing(
    env: str, sessions: async_sessionmaker[AsyncSession], capsys: pytest.CaptureFixture[str]
) -> None:
    await seed(sessions)
    untouched = await everything(sessions)
    assert await cli(["privacy", "purge", "--days", "100000", "--dry-run"]) == 0
    assert await cli(["privacy", "purge", "--days", "365", "--dry-run"]) == 0
    assert "1 citizen" in capsys.readouterr().out
    assert await everything(sessions) == untouched
    assert await cli(["privacy", "purge"]) == 2  # no period set anywhere
    assert "OKNO_RETENTION_DAYS" in capsys.readouterr().err

    store = PrivacyStore(sessions, clock=lambda: NOW)
    assert await RetentionJob(store, 365).once() == 1  # the running process's job, on a fake clock
    assert await RetentionJob(store, 365).once() == 0  # done already
    left = await everything(sessions)
    assert left.count(SECRET) == 10  # the recent citizen's, all of it
    async with sessions() as session:
        rows = await session.execute(select(Contact.external_id, Contact.display_name))
        names = {user: name for user, name in rows}
        assert names == {"w-1": MARKER, "222": "Иван Иванов"}
        [entry] = await session.scalars(select(PersonalDataAccess))
        assert (entry.action, entry.actor, entry.subject) == ("purge", "retention", "web:w-1")


async def test_the_retention_job_runs_until_stopped(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    stop = asyncio.Event()
    job = RetentionJob(PrivacyStore(sessions, clock=lambda: NOW), 365, interval=3600)
    rounds = 0
    once = job.once

    async def counted() -> int:
        nonlocal rounds
        rounds += 1
        stop.set()
        return await once()

    job.once = counted  # type: ignore[method-assign]
    await asyncio.wait_for(job.run(stop), 600)
    assert rounds == 1


async def test_an_unmasked_view_is_logged(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    store = PrivacyStore(sessions)
    await store.record_view("inbox:anna", "A-1", "web", "w-1")
    [line] = await store.accesses("web", "w-1", 10)
    assert (line.action, line.actor, line.subject) == ("view", "inbox:anna", "A-1")
    assert await store.accesses("telegram", "222", 10) == []
