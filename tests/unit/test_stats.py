"""The `okno stats` figures and formats, computed from hand-made records."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bots.stats_cli import moment, period
from handoff.stats import (
    MOSCOW,
    build_report,
    csv_rows,
    duration_text,
    percentile,
    report_dict,
    write_csv,
    write_json,
    write_table,
)
from handoff.stats_plot import write_plot
from storage.stats import HourCount, MessageCount, StatsData, TicketFacts

SINCE = datetime(2026, 3, 1, tzinfo=MOSCOW)
UNTIL = datetime(2026, 3, 8, tzinfo=MOSCOW)
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 09:00 in Moscow


def ticket(
    chat: str,
    status: str,
    taken: float | None = None,
    resolved: float | None = None,
    rating: int | None = None,
    level: int = 2,
) -> TicketFacts:
    """A ticket opened at T0 and taken / resolved that many minutes later."""
    return TicketFacts(
        channel="telegram",
        chat_id=chat,
        status=status,
        level=level,
        opened_at=T0,
        taken_at=None if taken is None else T0 + timedelta(minutes=taken),
        resolved_at=None if resolved is None else T0 + timedelta(minutes=resolved),
        rating=rating,
    )


def data(
    tickets: tuple[TicketFacts, ...] = (),
    messages: tuple[MessageCount, ...] = (),
    inbound_hours: tuple[HourCount, ...] = (),
    active_chats: frozenset[tuple[str, str]] = frozenset(),
) -> StatsData:
    return StatsData(SINCE, UNTIL, None, tickets, messages, inbound_hours, active_chats)


SAMPLE = data(
    (
        ticket("1", "closed", taken=4, resolved=30, rating=5),
        ticket("2", "resolved", taken=12, resolved=65, rating=4),
        ticket("3", "in_progress", taken=65, level=3),
        ticket("4", "new"),
        ticket("5", "closed"),  # closed before anyone took it: not waiting
        ticket("6", "closed", taken=9, resolved=100, rating=2),
    ),
    messages=(
        MessageCount("telegram", "in", 7),
        MessageCount("telegram", "out", 9),
        MessageCount("vk", "in", 2),
    ),
    inbound_hours=(
        HourCount(datetime(2026, 3, 1, 21, tzinfo=UTC), 2),  # 00:00 in Moscow
        HourCount(T0, 4),
        HourCount(T0 + timedelta(days=1), 3),
    ),
    active_chats=frozenset({("telegram", "1"), ("telegram", "9"), ("vk", "1"), ("telegram", "2")}),
)


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([], 0.9) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == pytest.approx(9.1)
    assert percentile([4.0, 9.0, 12.0, 65.0], 0.5) == pytest.approx(10.5)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 с"),
        (45, "45 с"),
        (630, "11 мин"),
        (720, "12 мин"),
        (3599, "1 ч 00 мин"),
        (3900, "1 ч 05 мин"),
        (2 * 86400 + 3 * 3600, "2 д 03 ч"),
    ],
)
def test_durations_read_as_people_say_them(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


def test_the_report_figures() -> None:
    report = build_report(SAMPLE)
    assert report.tickets == 6
    assert dict(report.by_status) == {"new": 1, "in_progress": 1, "needs_info": 0, "resolved": 1, "closed": 3}
    assert dict(report.by_level) == {2: 5, 3: 1}
    assert report.wait.count == 4 and report.waiting == 1
    assert report.wait.median == pytest.approx(10.5 * 60)
    assert report.wait.p90 == pytest.approx((12 + 0.7 * 53) * 60)
    assert report.resolve.median == pytest.approx(65 * 60)
    assert report.resolve.p90 == pytest.approx(93 * 60)
    assert report.ratings == (0, 1, 0, 1, 1)
    assert report.csat == pytest.approx(11 / 3)
    assert (report.conversations, report.bot_alone) == (4, 2)
    assert report.bot_share == pytest.approx(0.5)
    assert report.messages == (("telegram", 7, 9), ("vk", 2, 0))
    assert report.inbound_by_hour[0] == 2 and report.inbound_by_hour[9] == 7
    assert sum(report.inbound_by_hour) == 9


def test_unknown_statuses_and_levels_are_shown_not_dropped() -> None:
    report = build_report(data((ticket("1", "archived", level=4), ticket("2", "new", rating=9))))
    assert dict(report.by_status)["archived"] == 1
    assert dict(report.by_level) == {2: 1, 3: 0, 4: 1}
    assert report.rated == 0 and report.csat is None  # 9 is not a rating


def test_an_empty_period_is_all_zero() -> None:
    report = build_report(data())
    assert report.tickets == 0 and report.waiting == 0
    assert report.wait.median is None and report.resolve.p90 is None
    assert report.csat is None and report.bot_share is None
    assert report.inbound_by_hour == (0,) * 24
    out = io.StringIO()
    write_table(report, out)
    assert "Обращения: 0" in out.getvalue()
    assert "медиана —, p90 —" in out.getvalue()
    assert report_dict(report)["bot_alone"] == {"conversations": 0, "alone": 0, "share": None}


def test_the_table_has_russian_labels_and_durations() -> None:
    out = io.StringIO()
    write_table(build_report(SAMPLE), out)
    text = out.getvalue()
    assert "Статистика Okno: 2026-03-01 00:00 — 2026-03-08 00:00 (МСК), канал: все" in text
    assert "требуется уточнение" in text and "специалист" in text
    assert "медиана 11 мин, p90 49 мин" in text
    assert "медиана 1 ч 05 мин, p90 1 ч 33 мин" in text
    assert "средняя 3,67 из 5, оценок 3" in text
    assert "бот справился сам: 2 (50%)" in text
    assert "  09      7 " + "█" * 40 in text


def test_csv_is_section_key_value_with_names_people_read() -> None:
    out = io.StringIO()
    write_csv(build_report(SAMPLE), out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["section", "key", "value", "label"]
    values = {(row[0], row[1]): row[2] for row in rows[1:]}
    labels = {(row[0], row[1]): row[3] for row in rows[1:] if len(row) > 3}
    assert labels["status", "in_progress"] == "в работе" and labels["level", "2"] == "2 — оператор"
    assert values["period", "since"] == "2026-03-01T00:00:00+03:00"
    assert values["status", "closed"] == "3"
    assert values["wait_to_take", "median_seconds"] == "630.0"
    assert values["csat", "average"] == "3.6667"
    assert values["bot_alone", "share"] == "0.5"
    assert values["messages_out", "telegram"] == "9"
    assert values["inbound_by_hour", "9"] == "7"
    assert len(rows) == len(list(csv_rows(build_report(SAMPLE)))) + 1


def test_json_is_one_object() -> None:
    out = io.StringIO()
    write_json(build_report(SAMPLE), out)
    report = json.loads(out.getvalue())
    assert report["tickets"]["by_status"]["needs_info"] == {"label": "требуется уточнение", "count": 0}
    assert report["tickets"]["by_level"] == {
        "2": {"label": "2 — оператор", "count": 5},
        "3": {"label": "3 — старший специалист", "count": 1},
    }
    assert report["wait_to_take"]["taken"] == 4 and report["wait_to_take"]["waiting"] == 1
    assert report["time_to_resolve"]["median_seconds"] == pytest.approx(3900)
    assert report["csat"]["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert report["messages"] == {"telegram": {"in": 7, "out": 9}, "vk": {"in": 2, "out": 0}}
    assert len(report["inbound_by_hour"]) == 24


@pytest.mark.parametrize("sample", [SAMPLE, data()], ids=["sample", "empty"])
def test_the_plot_is_a_png(sample: StatsData, tmp_path: Path) -> None:
    path = tmp_path / "stats.png"
    write_plot(build_report(sample), path)
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_dates_without_an_offset_are_moscow_time() -> None:
    assert moment("2026-03-01") == datetime(2026, 3, 1, tzinfo=MOSCOW)
    assert moment("2026-03-01T10:30") == datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
    assert moment("2026-03-01T10:30:00+00:00") == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError):
        moment("вчера")


def test_the_default_period_is_the_last_30_days() -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=MOSCOW)
    assert period(None, None, now) == (now - timedelta(days=30), now)
    assert period(SINCE, None, now) == (SINCE, now)
    assert period(None, UNTIL, now) == (UNTIL - timedelta(days=30), UNTIL)
