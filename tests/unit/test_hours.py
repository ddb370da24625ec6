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


def test_operators_answer_in_the_chats_weekday_hours(hours: dict[int, Schedule]) -> None:
    operators = hours[2]  # the chat's schedule (seed 002): Mon–Fri 08:00–20:00
    assert operators.is_open(msk(2026, 11, 26, 8, 0))
    assert not operators.is_open(msk(2026, 11, 26, 7, 59))
    assert not operators.is_open(msk(2026, 11, 26, 20, 0))
    assert operators.is_open(datetime(2026, 11, 26, 6, 0, tzinfo=UTC))  # 09:00 in Moscow
    opening = operators.next_opening(msk(2026, 11, 26, 22, 0))
    assert opening == msk(2026, 11, 27, 8, 0)
    assert when(opening, msk(2026, 11, 26, 22, 0)) == "завтра в 8:00"


def test_saturday_has_its_own_hours_and_sunday_and_holidays_none(hours: dict[int, Schedule]) -> None:
    operators = hours[2]
    assert operators.is_open(msk(2026, 11, 28, 9, 0))  # Saturday 09:00–17:00
    assert not operators.is_open(msk(2026, 11, 28, 17, 0))
    assert not operators.is_open(msk(2026, 11, 29, 12, 0))  # Sunday: «Вс: выходной»
    assert operators.next_opening(msk(2026, 11, 29, 12, 0)) == msk(2026, 11, 30, 8, 0)
    assert not operators.is_open(msk(2026, 11, 4, 12, 0))  # Unity Day, a Wednesday


def test_a_pre_holiday_day_ends_an_hour_earlier(hours: dict[int, Schedule]) -> None:
    assert hours[2].is_open(msk(2026, 11, 3, 18, 30))
    assert not hours[2].is_open(msk(2026, 11, 3, 19, 30))


def test_specialists_keep_the_operators_hours_until_the_deployment_sets_theirs() -> None:
    facts = load_knowledge().facts
    assert "specialist_hours_weekdays" not in facts  # a deployment fact, unset
    specialists = schedules(facts, load_calendar())[3]
    opening = specialists.next_opening(msk(2026, 1, 3, 12, 0))  # the New Year holidays
    assert opening == msk(2026, 1, 10, 9, 0)  # Saturday 10 January, Saturday hours
    own = schedules(facts | {"specialist_hours_weekdays": "с 10:00 до 18:00"}, load_calendar())[3]
    assert own.next_opening(msk(2026, 1, 3, 12, 0)) == msk(2026, 1, 12, 10, 0)
    assert (
        when(own.next_opening(msk(2026, 1, 3, 12, 0)), msk(2026, 1, 3, 12, 0))
        == "в понедельник, 12 января, в 10:00"
    )


def test_open_now_means_now(hours: dict[int, Schedule]) -> None:
    moment = msk(2026, 11, 26, 12, 0)
    assert hours[2].next_opening(moment) == moment
    assert when(moment, moment) == "сегодня в 12:00"


@pytest.mark.parametrize("text", ["круглосуточно", "с 21:00 до 9:00", ""])
def test_hours_that_cannot_be_read_say_so(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_hours(text)
