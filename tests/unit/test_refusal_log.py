"""A flood of refusals is logged as counts: the first at once, then a line a minute at most."""

from __future__ import annotations

import logging

import pytest

from adapters.web.guards import RefusalLog


def test_a_flood_of_refusals_is_logged_once_a_minute_with_its_count(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    log = RefusalLog(logging.getLogger("okno.test.refusals"), every=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="okno.test.refusals"):
        for _ in range(500):  # 500 refusals in 5 s
            log.refused("a new web chat")
            now[0] += 0.01
        log.refused("a chat socket")  # another kind is logged at once
        now[0] += 60.0
        log.refused("a new web chat")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "refused: a new web chat",
        "refused: a chat socket",
        "refused: a new web chat (500 times in the last 65 s)",
    ]
