"""`okno run` as a process on its own PostgreSQL and Redis, through a PostgreSQL restart, Redis
killed and back empty, the process killed with -9 and restarted, and SIGTERM: every message is
answered, in order per chat, through slow answers and poison updates too, and the only doubles are
sends in flight at the kill."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegram
from tests.faults.drive import CHATS, run_faults, run_webhook_faults

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.mark.parametrize("backend", ["postgresql+redis", "sqlite+memory"])
async def test_okno_run_survives_every_fault(fake: FakeTelegram, tmp_path: Path, backend: str) -> None:
    run = await run_faults(fake, tmp_path, backend)
    print("\n" + run.report())  # noqa: T201 - the table is the suite's report
    assert run.final.lost == 0 and run.final.out_of_order == 0, run.report()
    assert run.final.doubled <= len(CHATS), run.report()  # only sends in flight at the kill


async def test_okno_run_answers_each_webhook_update_once(fake: FakeTelegram, tmp_path: Path) -> None:
    run = await run_webhook_faults(fake, tmp_path)
    print("\n" + run.report())  # noqa: T201 - the table is the suite's report
    assert run.final.lost == 0 and run.final.out_of_order == 0, run.report()
    assert run.final.doubled <= len(CHATS), run.report()  # only sends in flight at the kill
