from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialog.knowledge import load_knowledge
from handoff.hours import Schedule, ScheduleError, load_calendar, parse_hours, schedules, when

MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture(scope="module")
def hours() -> dict[int, Schedule]:
    return schedules(load_knowledge().facts, load_calendar())


def msk(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


def test_operators_answer_in_weekday_hours_from_the_facts(hours: dict[int, Schedule]) -> None:
    operators = hours[2]
    assert operators.is_open(msk(2026, 11, 26, 10, 0))
    assert not operators.is_open(msk(2026, 11, 26, 22, 0))
    assert operators.is_open(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))  # 10:00 in Moscow
    opening = operators.next_opening(msk(2026, 11, 26, 22, 0))
    assert opening == msk(2026, 11, 27, 9, 0)
    assert when(opening, msk(2026, 11, 26, 22, 0)) == "завтра в 9:00"


def test_weekends_and_holidays_have_their_own_hours(hours: dict[int, Schedule]) -> None:
    operators = hours[2]
    assert operators.is_open(msk(2026, 11, 28, 11, 0))  # Saturday
    assert not operators.is_open(msk(2026, 11, 28, 17, 0))
    assert operators.is_open(msk(2026, 11, 4, 12, 0))  # Unity Day, a Wednesday
    assert not operators.is_open(msk(2026, 11, 4, 9, 30))


def test_a_pre_holiday_day_ends_an_hour_earlier(hours: dict[int, Schedule]) -> None:
    assert hours[2].is_open(msk(2026, 11, 3, 19, 30))
    assert not hours[2].is_open(msk(2026, 11, 3, 20, 30))


def test_specialists_return_after_the_new_year_holidays(hours: dict[int, Schedule]) -> None:
    specialists = hours[3]
    opening = specialists.next_opening(msk(2026, 1, 3, 12, 0))
    assert opening == msk(2026, 1, 12, 9, 0)
    assert when(opening, msk(2026, 1, 3, 12, 0)) == "в понедельник, 12 января, в 9:00"


def test_open_now_means_now(hours: dict[int, Schedule]) -> None:
    moment = msk(2026, 11, 26, 12, 0)
    assert hours[2].next_opening(moment) == moment
    assert when(moment, moment) == "сегодня в 12:00"


@pytest.mark.parametrize("text", ["круглосуточно", "с 21:00 до 9:00", ""])
def test_hours_that_cannot_be_read_say_so(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_hours(text)
