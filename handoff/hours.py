"""Working hours of people by support level: the facts' hours over a production calendar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from handoff.errors import HandoffError

CALENDAR_FILE = Path(__file__).parent / "calendar.yaml"
_HOURS = re.compile(r"с\s*(\d{1,2})[:.](\d{2})\s*до\s*(\d{1,2})[:.](\d{2})")
_WEEKDAYS = ["в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу", "в воскресенье"]
_MONTHS = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
Span = tuple[time, time]


class ScheduleError(HandoffError):
    """The hours or the calendar cannot be read; the message says which value."""


@dataclass(frozen=True, slots=True)
class Calendar:
    timezone: ZoneInfo
    days_off: frozenset[date]
    working_days: frozenset[date]
    shortened: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        if day in self.days_off:
            return False
        return day in self.working_days or day.weekday() < 5


@dataclass(frozen=True, slots=True)
class Schedule:
    """When people of one level answer: working days, and Saturdays off work (None: nobody).

    Sundays and holidays nobody answers (the chat's schedule: «Вс: выходной»).
    """

    calendar: Calendar
    working: Span
    saturday: Span | None

    def hours_on(self, day: date) -> Span | None:
        if not self.calendar.is_working_day(day):
            return self.saturday if day.weekday() == 5 and day not in self.calendar.days_off else None
        start, end = self.working
        if day in self.calendar.shortened:  # a pre-holiday day is one hour shorter
            end = time(end.hour - 1, end.minute)
        return start, end

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.calendar.timezone)
        hours = self.hours_on(local.date())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when people answer now, else when they start again (within a month)."""
        if self.is_open(at):
            return at
        local = at.astimezone(self.calendar.timezone)
        for offset in range(32):
            day = local.date() + timedelta(days=offset)
            hours = self.hours_on(day)
            if hours is None:
                continue
            opening = datetime.combine(day, hours[0], tzinfo=self.calendar.timezone)
            if opening > local:
                return opening
        raise ScheduleError("nobody works in the next month: check the hours and the calendar")


def parse_hours(text: str) -> Span:
    """«с 9:00 до 21:00» → (09:00, 21:00)."""
    match = _HOURS.search(text)
    if match is None:
        raise ScheduleError(f"hours {text!r} are not «с ЧЧ:ММ до ЧЧ:ММ»")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = time(h1, m1), time(h2, m2)
    if not start < end:
        raise ScheduleError(f"hours {text!r} end before they start")
    return start, end


def load_calendar(path: Path = CALENDAR_FILE) -> Calendar:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Calendar(
            timezone=ZoneInfo(str(data["timezone"])),
            days_off=frozenset(_day(d) for d in data.get("days_off") or ()),
            working_days=frozenset(_day(d) for d in data.get("working_days") or ()),
            shortened=frozenset(_day(d) for d in data.get("shortened") or ()),
        )
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ScheduleError(f"{path}: {exc}") from exc


def schedules(facts: dict[str, str], calendar: Calendar) -> dict[int, Schedule]:
    """Hours of level 2 (operators) and 3 (specialists) from the facts."""
    operators = Schedule(
        calendar,
        parse_hours(facts["operator_hours_weekdays"]),
        parse_hours(facts["operator_hours_saturday"]),
    )
    specialist_text = facts.get("specialist_hours_weekdays")
    specialists = Schedule(calendar, parse_hours(specialist_text), None) if specialist_text else operators
    return {2: operators, 3: specialists}


def when(moment: datetime, now: datetime) -> str:
    """«сегодня в 10:00», «завтра в 9:00», «в понедельник, 12 января, в 9:00» — in the moment's zone."""
    local_now = now.astimezone(moment.tzinfo)
    clock = f"{moment.hour}:{moment.minute:02d}"
    days = (moment.date() - local_now.date()).days
    if days == 0:
        return f"сегодня в {clock}"
    if days == 1:
        return f"завтра в {clock}"
    return f"{_WEEKDAYS[moment.weekday()]}, {moment.day} {_MONTHS[moment.month - 1]}, в {clock}"


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
