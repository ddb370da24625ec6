"""The `okno stats` report: figures computed from the period's records, and its three formats."""

from __future__ import annotations

import csv
import json
import logging
import math
import statistics
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO, TypeVar
from zoneinfo import ZoneInfo

from dialog.tickets import Level, Status
from storage.stats import StatsData, TicketFacts

log = logging.getLogger("okno.handoff.stats")

MOSCOW = ZoneInfo("Europe/Moscow")
RATINGS = range(1, 6)
_STATUS_LABELS = {s.value: s.label for s in Status}
_BAR_WIDTH = 40
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Durations:
    """How long something took, in seconds, over the tickets where it happened."""

    samples: tuple[float, ...]

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def p90(self) -> float | None:
        return percentile(self.samples, 0.9)


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    channel: str | None
    by_status: tuple[tuple[str, int], ...]  # every known status, then any unknown ones
    by_level: tuple[tuple[int, int], ...]
    wait: Durations  # opened → first taken
    waiting: int  # never taken and still open
    resolve: Durations  # opened → resolved
    ratings: tuple[int, ...]  # how many of each rating, 1..5
    conversations: int  # with an inbound message in the period
    bot_alone: int  # of those, without a ticket opened in the period
    messages: tuple[tuple[str, int, int], ...]  # channel, inbound, outbound
    inbound_by_hour: tuple[int, ...]  # 24 counts, Moscow time

    @property
    def tickets(self) -> int:
        return sum(n for _, n in self.by_status)

    @property
    def rated(self) -> int:
        return sum(self.ratings)

    @property
    def csat(self) -> float | None:
        total = sum(r * n for r, n in zip(RATINGS, self.ratings, strict=True))
        return total / self.rated if self.rated else None

    @property
    def bot_share(self) -> float | None:
        return self.bot_alone / self.conversations if self.conversations else None


def percentile(samples: Sequence[float], share: float) -> float | None:
    """Linear interpolation between the closest ranks (as numpy's default), None without data."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = share * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def build_report(data: StatsData) -> Report:
    tickets = data.tickets
    ticketed = {(t.channel, t.chat_id) for t in tickets}
    open_statuses = {Status.NEW, Status.IN_PROGRESS, Status.NEEDS_INFO}
    return Report(
        since=data.since,
        until=data.until,
        channel=data.channel,
        by_status=_counted([t.status for t in tickets], [s.value for s in Status]),
        by_level=_counted([t.level for t in tickets], [Level.OPERATOR, Level.SPECIALIST]),
        wait=_durations(tickets, lambda t: t.taken_at),
        waiting=sum(1 for t in tickets if t.taken_at is None and t.status in open_statuses),
        resolve=_durations(tickets, lambda t: t.resolved_at),
        ratings=tuple(sum(1 for t in tickets if t.rating == r) for r in RATINGS),
        conversations=len(data.active_chats),
        bot_alone=len(data.active_chats - ticketed),
        messages=_messages(data),
        inbound_by_hour=_by_hour(data),
    )


def _counted(values: Sequence[K], known: Sequence[K]) -> tuple[tuple[K, int], ...]:
    """Each known key, even at zero, then any others the database holds."""
    counts: Counter[K] = Counter(values)
    keys = [*known, *sorted(set(counts) - set(known), key=str)]
    return tuple(zip(keys, [counts[key] for key in keys], strict=True))


def _durations(tickets: Sequence[TicketFacts], end: Callable[[TicketFacts], datetime | None]) -> Durations:
    # A clock that went backwards makes a negative time; count it as none rather than drop it.
    ends = [(end(t), t.opened_at) for t in tickets]
    return Durations(tuple(max(0.0, (e - start).total_seconds()) for e, start in ends if e is not None))


def _messages(data: StatsData) -> tuple[tuple[str, int, int], ...]:
    channels = sorted({m.channel for m in data.messages})
    count = {(m.channel, m.direction): m.count for m in data.messages}
    return tuple((ch, count.get((ch, "in"), 0), count.get((ch, "out"), 0)) for ch in channels)


def _by_hour(data: StatsData) -> tuple[int, ...]:
    hours = [0] * 24
    for bucket in data.inbound_hours:
        hours[bucket.hour.astimezone(MOSCOW).hour] += bucket.count
    return tuple(hours)


def status_label(value: str) -> str:
    return _STATUS_LABELS.get(value, value)


def level_label(value: int) -> str:
    return Level(value).label if value in set(Level) else f"уровень {value}"


def duration_text(seconds: float | None) -> str:
    """«45 с», «12 мин», «1 ч 05 мин», «2 д 03 ч»; «—» when there is nothing to measure."""
    if seconds is None:
        return "—"
    if seconds < 59.5:
        return f"{int(seconds + 0.5)} с"
    minutes = int(seconds / 60 + 0.5)  # half up, not to even: 10,5 min reads as 11
    if minutes < 60:
        return f"{minutes} мин"
    if minutes < 24 * 60:
        return f"{minutes // 60} ч {minutes % 60:02d} мин"
    hours = int(seconds / 3600 + 0.5)
    return f"{hours // 24} д {hours % 24:02d} ч"


def _local(moment: datetime) -> str:
    return moment.astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M")


def _iso(moment: datetime) -> str:
    return moment.astimezone(MOSCOW).isoformat()


def _share_text(part: int, whole: int) -> str:
    return f"{part} ({part / whole:.0%})" if whole else "0"


def table_lines(report: Report) -> Iterator[str]:
    channel = report.channel or "все"
    yield f"Статистика Okno: {_local(report.since)} — {_local(report.until)} (МСК), канал: {channel}"
    yield ""
    yield f"Обращения: {report.tickets}"
    yield "  по статусу:"
    yield from (f"    {status_label(status):<22}{n:>6}" for status, n in report.by_status)
    yield "  по уровню:"
    yield from (f"    {level_label(level):<22}{n:>6}" for level, n in report.by_level)
    yield ""
    yield f"Ожидание взятия в работу: взято {report.wait.count}, ещё ждут {report.waiting}"
    yield f"  медиана {duration_text(report.wait.median)}, p90 {duration_text(report.wait.p90)}"
    yield f"Время решения: решено {report.resolve.count}"
    yield f"  медиана {duration_text(report.resolve.median)}, p90 {duration_text(report.resolve.p90)}"
    yield ""
    average = "—" if report.csat is None else f"{report.csat:.2f}".replace(".", ",")
    yield f"Оценки (CSAT): средняя {average} из 5, оценок {report.rated}"
    yield "  " + "  ".join(f"{r}★ {n}" for r, n in zip(RATINGS, report.ratings, strict=True))
    alone = _share_text(report.bot_alone, report.conversations)
    yield f"Диалогов с входящими: {report.conversations}, бот справился сам: {alone}"
    yield ""
    yield from _message_lines(report)


def _message_lines(report: Report) -> Iterator[str]:
    yield f"Сообщения    {'входящие':>10}{'исходящие':>11}"
    for channel, inbound, outbound in report.messages:
        yield f"  {channel:<11}{inbound:>10}{outbound:>11}"
    total_in = sum(m[1] for m in report.messages)
    total_out = sum(m[2] for m in report.messages)
    yield f"  {'всего':<11}{total_in:>10}{total_out:>11}"
    yield ""
    yield "Входящие по часам (МСК):"
    peak = max(report.inbound_by_hour)
    for hour, n in enumerate(report.inbound_by_hour):
        bar = "█" * math.ceil(n * _BAR_WIDTH / peak) if peak else ""
        yield f"  {hour:02d}{n:>7} {bar}".rstrip()


def write_table(report: Report, out: TextIO) -> None:
    out.write("\n".join(table_lines(report)) + "\n")


def csv_rows(report: Report) -> Iterator[tuple[str, str, object] | tuple[str, str, object, str]]:
    """(section, key, value[, label]); durations in seconds, an empty value where there is no data;
    statuses and levels also carry the name people read («в работе», «2 — оператор»)."""
    yield from [("period", "since", _iso(report.since)), ("period", "until", _iso(report.until))]
    yield ("period", "channel", report.channel or "")
    yield ("tickets", "total", report.tickets)
    yield from (("status", status, n, status_label(status)) for status, n in report.by_status)
    yield from (("level", str(level), n, level_label(level)) for level, n in report.by_level)
    for section, values in (("wait_to_take", _wait(report)), ("time_to_resolve", _resolve(report))):
        yield from ((section, key, _blank(value)) for key, value in values.items())
    yield from [("csat", "average", _blank(report.csat)), ("csat", "rated", report.rated)]
    yield from (("csat", str(r), n) for r, n in zip(RATINGS, report.ratings, strict=True))
    yield ("bot_alone", "conversations", report.conversations)
    yield ("bot_alone", "alone", report.bot_alone)
    yield ("bot_alone", "share", _blank(report.bot_share))
    for channel, inbound, outbound in report.messages:
        yield from [("messages_in", channel, inbound), ("messages_out", channel, outbound)]
    yield from (("inbound_by_hour", str(hour), n) for hour, n in enumerate(report.inbound_by_hour))


def _blank(value: float | None) -> object:
    return "" if value is None else round(value, 4)


def _wait(report: Report) -> dict[str, float | int | None]:
    wait = report.wait
    return {
        "taken": wait.count,
        "waiting": report.waiting,
        "median_seconds": wait.median,
        "p90_seconds": wait.p90,
    }


def _resolve(report: Report) -> dict[str, float | int | None]:
    resolve = report.resolve
    return {"resolved": resolve.count, "median_seconds": resolve.median, "p90_seconds": resolve.p90}


def write_csv(report: Report, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "key", "value", "label"))
    writer.writerows(csv_rows(report))


def report_dict(report: Report) -> dict[str, Any]:
    """The report as one JSON object; durations in seconds, null where there is no data."""
    csat = report.csat
    return {
        "period": {
            "since": _iso(report.since),
            "until": _iso(report.until),
            "timezone": "Europe/Moscow",
            "channel": report.channel,
        },
        "tickets": {
            "total": report.tickets,
            "by_status": {s: {"label": status_label(s), "count": n} for s, n in report.by_status},
            "by_level": {
                str(level): {"label": level_label(level), "count": n} for level, n in report.by_level
            },
        },
        "wait_to_take": _wait(report),
        "time_to_resolve": _resolve(report),
        "csat": {
            "average": None if csat is None else round(csat, 4),
            "rated": report.rated,
            "distribution": {str(r): n for r, n in zip(RATINGS, report.ratings, strict=True)},
        },
        "bot_alone": {
            "conversations": report.conversations,
            "alone": report.bot_alone,
            "share": None if report.bot_share is None else round(report.bot_share, 4),
        },
        "messages": {ch: {"in": inbound, "out": outbound} for ch, inbound, outbound in report.messages},
        "inbound_by_hour": list(report.inbound_by_hour),
    }


def write_json(report: Report, out: TextIO) -> None:
    json.dump(report_dict(report), out, ensure_ascii=False, indent=2)
    out.write("\n")


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}
