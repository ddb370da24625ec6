"""A service that is away is waited for; an error in the work itself is not."""

from __future__ import annotations

import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from storage.outage import MAX_PAUSE, Outage, is_outage, left_for_next_start, until_back


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("SELECT 1", {}, Exception("terminating connection due to administrator command")),
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379"),
        ConnectionRefusedError(111, "Connect call failed"),
        RuntimeError("wrapped"),  # with an outage as its cause, below
    ],
)
def test_an_unreachable_service_is_an_outage(exc: Exception) -> None:
    if isinstance(exc, RuntimeError):
        exc.__cause__ = ConnectionResetError()
    assert is_outage(exc)


class DriverError(Exception):
    """Like asyncpg's errors: a SQLSTATE beside the message."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "away"),
    [("57P03", True), ("57P01", True), ("08006", True), ("22021", False), ("23505", False)],
)
def test_a_server_shutting_down_is_an_outage_however_sqlalchemy_wraps_it(sqlstate: str, away: bool) -> None:
    # PostgreSQL stopping: asyncpg's CannotConnectNowError reaches us as a plain DBAPIError
    wrapped = DBAPIError("SELECT 1", {}, Exception("the database system is shutting down"))
    wrapped.__cause__ = DriverError("the database system is shutting down", sqlstate)
    assert is_outage(wrapped) is away


@pytest.mark.parametrize(
    "exc",
    [
        DataError("INSERT", {}, Exception("invalid byte sequence for encoding UTF8: 0x00")),
        IntegrityError("INSERT", {}, Exception("duplicate key")),
        ResponseError("WRONGTYPE"),
        ValueError("a bad update"),
        FileNotFoundError("no such file"),
    ],
)
def test_a_wrong_value_or_bug_is_not_an_outage(exc: Exception) -> None:
    assert not is_outage(exc)


class Pauses:
    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


async def test_until_back_waits_with_growing_pauses_and_logs_the_outage_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pauses = Pauses()
    outage = Outage("inbox", logging.getLogger("test.outage"), sleep=pauses)
    failures = iter([RedisConnectionError("down")] * 12)

    async def call() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "done"

    with caplog.at_level(logging.WARNING, logger="test.outage"):
        assert await until_back(call, outage) == "done"
    assert len(pauses.taken) == 12
    assert pauses.taken[1] > pauses.taken[0] and max(pauses.taken) <= MAX_PAUSE
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "unreachable" in messages[0] and "back after" in messages[1]
    assert not outage.away


async def test_until_back_lets_a_real_error_through_at_once() -> None:
    pauses = Pauses()
    outage = Outage("outbox", logging.getLogger("test.outage"), sleep=pauses)

    async def call() -> None:
        raise DataError("INSERT", {}, Exception("0x00"))

    with pytest.raises(DataError):
        await until_back(call, outage)
    assert pauses.taken == []


def test_at_shutdown_an_outage_leaves_the_rest_for_the_next_start(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.outage")
    with caplog.at_level(logging.WARNING, logger="test.outage"), left_for_next_start(log, "the replies"):
        raise RedisConnectionError("down")
    assert "the replies wait for the next start" in caplog.text
    with pytest.raises(ValueError), left_for_next_start(log, "the replies"):
        raise ValueError("a bug is not an outage")
