"""How many times a reply is tried, by what went wrong: outages for ever, limits and bugs a while."""

from __future__ import annotations

from adapters.errors import PermanentFailure, RetryLater, TemporaryFailure
from bots.outbox import LEAVE, MAX_SLOWDOWNS, MAX_UNEXPECTED, Tries


def test_a_rate_limit_that_never_lifts_gives_up_with_the_reason() -> None:
    tries = Tries()
    verdicts = [tries.count(RetryLater(5.0), stopping=False) for _ in range(MAX_SLOWDOWNS + 1)]
    assert verdicts[:-1] == [None] * MAX_SLOWDOWNS
    assert "rate-limited" in str(verdicts[-1])
    assert tries.pause(RetryLater(5.0)) == 5.0


def test_a_platform_that_is_away_is_waited_for_however_long() -> None:
    tries = Tries()
    assert all(tries.count(TemporaryFailure("502"), stopping=False) is None for _ in range(1000))
    assert tries.pause(TemporaryFailure("502")) <= 30.0


def test_a_platform_away_at_shutdown_leaves_the_reply_for_the_next_start() -> None:
    tries = Tries()
    verdicts = [tries.count(TemporaryFailure("502"), stopping=True) for _ in range(4)]
    assert verdicts == [None, None, None, LEAVE]


def test_an_error_no_adapter_explained_is_tried_a_few_times_then_given_up() -> None:
    tries = Tries()
    verdicts = [tries.count(KeyError("result"), stopping=False) for _ in range(MAX_UNEXPECTED)]
    assert verdicts[:-1] == [None] * (MAX_UNEXPECTED - 1)
    assert "KeyError" in str(verdicts[-1])


def test_a_refusal_gives_up_at_once() -> None:
    assert Tries().count(PermanentFailure("Bad Request: message text is empty"), stopping=False) == (
        "Bad Request: message text is empty"
    )
