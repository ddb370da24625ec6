"""`okno stats` over real databases: the reads, the figures a user checks, and the command itself."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bots.cli import main
from handoff.stats import MOSCOW, build_report
from storage.db import is_sqlite, make_engine
from storage.migrate import upgrade
from storage.models import Conversation, Message, TicketRow
from storage.stats import SchemaMissing, load_stats

SINCE = datetime(2026, 3, 1, tzinfo=MOSCOW)
UNTIL = datetime(2026, 3, 8, tzinfo=MOSCOW)
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 09:00 in Moscow; the bot writes UTC, so do the tests


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def ticket(n: int, chat: str, status: str, opened: datetime, **fields: Any) -> dict[str, Any]:
    """A tickets row; every row names every column, as one INSERT of many rows needs."""
    row = {"source_key": f"tg:{n}", "number": str(n), "channel": "telegram", "chat_id": chat, "level": 2}
    row |= {"user_id": chat, "rule": "explicit_request", "status": status, "opened_at": opened}
    return row | {"taken_at": None, "resolved_at": None, "rating": None} | fields


TICKETS = [
    ticket(1, "1", "closed", T0, taken_at=T0 + minutes(4), resolved_at=T0 + minutes(30), rating=5),
    ticket(
        2,
        "2",
        "resolved",
        T0 + minutes(60),
        taken_at=T0 + minutes(72),
        resolved_at=T0 + minutes(125),
        rating=4,
    ),
    ticket(3, "5", "in_progress", T0 + minutes(90), taken_at=T0 + minutes(155), level=3),
    ticket(4, "6", "new", T0 + minutes(200)),
    ticket(5, "7", "closed", T0 + minutes(210)),  # closed before anyone took it
    ticket(6, "200", "closed", T0 + minutes(300), channel="vk", taken_at=T0 + minutes(309))
    | {"resolved_at": T0 + minutes(400), "rating": 2},
    ticket(7, "3", "closed", T0 - timedelta(days=10), rating=1),  # before the period
    ticket(8, "8", "new", UNTIL.astimezone(UTC)),  # the period ends just before it
]
CHATS = [("telegram", "1"), ("telegram", "2"), ("telegram", "3"), ("telegram", "4"), ("vk", "100")]
MESSAGES = [  # conversation (1-based in CHATS), direction, time
    (1, "in", T0),
    (1, "out", T0 + timedelta(seconds=1)),
    (1, "in", UNTIL.astimezone(UTC)),  # outside
    (2, "in", T0 + minutes(60)),
    (2, "in", T0 + minutes(65)),
    (2, "out", T0 + minutes(61)),
    (3, "in", T0 + minutes(120)),
    (4, "in", T0 - timedelta(days=3)),  # outside: chat 4 is not active in the period
    (4, "out", T0 + minutes(1)),
    (5, "in", datetime(2026, 3, 1, 21, 30, tzinfo=UTC)),  # 00:30 in Moscow
]


async def seed(url: str) -> None:
    engine = make_engine(url)
    try:
        await _insert(engine)
    finally:
        await engine.dispose()


async def _insert(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        conversations = [{"channel": ch, "chat_id": chat, "engine_state": {}} for ch, chat in CHATS]
        await connection.execute(insert(Conversation), conversations)
        messages = [
            {"conversation_id": cid, "direction": d, "text": "…", "attachments": [], "created_at": at}
            for cid, d, at in MESSAGES
        ]
        await connection.execute(insert(Message), messages)
        await connection.execute(insert(TicketRow), TICKETS)


async def test_the_figures_of_a_period(database_url: str) -> None:
    await seed(database_url)
    report = build_report(await load_stats(database_url, SINCE, UNTIL))
    assert report.tickets == 6
    assert dict(report.by_status) == {"new": 1, "in_progress": 1, "needs_info": 0, "resolved": 1, "closed": 3}
    assert dict(report.by_level) == {2: 5, 3: 1}
    assert (report.wait.count, report.waiting) == (4, 1)
    assert report.wait.median == pytest.approx(10.5 * 60)  # taken after 4, 9, 12 and 65 minutes
    assert report.wait.p90 == pytest.approx((12 + 0.7 * 53) * 60)
    assert report.resolve.median == pytest.approx(65 * 60)  # resolved after 30, 65 and 100 minutes
    assert report.resolve.p90 == pytest.approx(93 * 60)
    assert report.csat == pytest.approx(11 / 3) and report.ratings == (0, 1, 0, 1, 1)
    # Active: telegram 1, 2, 3 and vk 100; telegram 1 and 2 got tickets, 3 only before the period.
    assert (report.conversations, report.bot_alone) == (4, 2)
    assert report.messages == (("telegram", 4, 3), ("vk", 1, 0))
    assert report.inbound_by_hour[0] == 1 and report.inbound_by_hour[9] == 1
    assert report.inbound_by_hour[10] == 2 and report.inbound_by_hour[11] == 1
    assert sum(report.inbound_by_hour) == 5


async def test_one_channel(database_url: str) -> None:
    await seed(database_url)
    report = build_report(await load_stats(database_url, SINCE, UNTIL, "vk"))
    assert report.tickets == 1 and report.wait.median == pytest.approx(9 * 60)
    assert report.csat == pytest.approx(2)
    assert (report.conversations, report.bot_alone) == (1, 1)  # the vk ticket is of another chat
    assert report.messages == (("vk", 1, 0),)


async def test_an_empty_database_reports_zeros(database_url: str) -> None:
    report = build_report(await load_stats(database_url, SINCE, UNTIL))
    assert report.tickets == 0 and report.conversations == 0 and report.messages == ()
    assert report.wait.median is None and report.csat is None
    assert report.inbound_by_hour == (0,) * 24


async def test_a_database_never_migrated_is_refused(empty_database_url: str) -> None:
    with pytest.raises(SchemaMissing):
        await load_stats(empty_database_url, SINCE, UNTIL)
    if is_sqlite(empty_database_url):  # nor is an empty SQLite file left behind
        assert not Path(str(make_url(empty_database_url).database)).exists()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}"
    monkeypatch.setenv("OKNO_DATABASE_URL", url)
    return url


def test_the_command_writes_json_and_a_plot(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(sqlite_url)
    asyncio.run(seed(sqlite_url))
    plot = tmp_path / "stats.png"
    period = ["--since", "2026-03-01", "--until", "2026-03-08"]
    code = main(["stats", "--format", "json", *period, "--plot", str(plot)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["period"]["since"] == "2026-03-01T00:00:00+03:00"
    assert report["tickets"]["total"] == 6
    assert report["tickets"]["by_status"]["closed"] == {"label": "закрыто", "count": 3}
    assert report["wait_to_take"]["median_seconds"] == pytest.approx(630)
    assert report["csat"]["average"] == pytest.approx(3.6667)
    assert report["bot_alone"] == {"conversations": 4, "alone": 2, "share": 0.5}
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_command_writes_csv_and_a_table(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(sqlite_url)
    asyncio.run(seed(sqlite_url))
    period = ["--since", "2026-03-01", "--until", "2026-03-08", "--channel", "telegram"]
    assert main(["stats", "--format", "csv", *period]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "section,key,value,label"
    assert "tickets,total,5" in rows and "messages_in,telegram,4" in rows and "bot_alone,alone,1" in rows
    assert main(["stats", *period]) == 0
    table = capsys.readouterr().out
    assert "Обращения: 5" in table and "канал: telegram" in table
    assert "Оценки (CSAT): средняя 4,50 из 5, оценок 2" in table


def test_the_command_asks_for_a_migration(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats"]) == 2
    assert "okno db upgrade" in capsys.readouterr().err


def test_the_exports_hold_no_citizens_words(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """152-ФЗ: `okno stats` gives counts and durations only; a citizen's text never reaches its output,
    so there is nothing in it to mask."""
    upgrade(sqlite_url)
    said = "не принимают мой СНИЛС 11223344595, звоните на 89991234567"

    async def with_words() -> None:
        engine = make_engine(sqlite_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(insert(Conversation), [{"channel": "telegram", "chat_id": "42"}])
                at = T0 + minutes(5)
                row = {"conversation_id": 1, "direction": "in", "text": said, "attachments": []}
                await connection.execute(insert(Message), [row | {"created_at": at}])
                fields = {"description": said, "rating_comment": said, "rating": 3}
                await connection.execute(insert(TicketRow), [ticket(1, "42", "closed", at, **fields)])
        finally:
            await engine.dispose()

    asyncio.run(with_words())
    period = ["--since", "2026-03-01", "--until", "2026-03-08"]
    for fmt in ("table", "csv", "json"):
        assert main(["stats", "--format", fmt, *period]) == 0
        out = capsys.readouterr().out
        assert "1" in out and not any(value in out for value in ("11223344595", "89991234567", "СНИЛС"))
