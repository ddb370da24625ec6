"""`okno run` with MAX killed with -9 in the middle of a round, by long polling and by webhook: every
message is answered, in order per chat, and the only doubles are sends in flight at the kill."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port
from tests.e2e.test_process import OKNO
from tests.fakes.max_api import FakeMax
from tests.faults.drive import SCRIPT, Tally, script_lines, tally_of, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

USERS = list(range(8101, 8111))
ROUNDS = 6
KILLED_IN = 3  # the round the process is killed in


def tally(fake: FakeMax, expected: dict[int, list[int]]) -> Tally:
    return tally_of(lambda user: script_lines([str(s["text"] or "") for s in fake.sent_to(user)]), expected)


async def spawn(fake: FakeMax, tmp_path: Path, mode: str, port: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")} | {
        "OKNO_MAX_TOKEN": fake.token,
        "OKNO_MAX_API_URL": fake.url,
        "OKNO_MAX_MODE": mode,
        "OKNO_MAX_WEBHOOK_URL": f"http://127.0.0.1:{port}/max/webhook",
        "OKNO_MAX_WEBHOOK_SECRET": "faults-secret",
        "OKNO_WEB_PORT": str(port),
        "OKNO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}",
        "OKNO_WEB_CHAT": "false",
        "OKNO_WEB_INBOX": "false",
        "OKNO_LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "okno.log").open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            OKNO, "run", env=env, cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
        )
    finally:
        log.close()


def listening(fake: FakeMax, mode: str) -> int:
    """How many times a process has started receiving: its polls, or its subscriptions."""
    return len(fake.calls_of("GET /updates" if mode == "longpoll" else "POST /subscriptions"))


async def run_rounds(fake: FakeMax, tmp_path: Path, mode: str) -> Tally:
    port = free_port()
    log = lambda: (tmp_path / "okno.log").read_text(errors="replace")[-3000:]  # noqa: E731
    expected: dict[int, list[int]] = {user: [] for user in USERS}
    process = await spawn(fake, tmp_path, mode, port)
    try:
        await until(lambda: listening(fake, mode) > 0, "Okno receiving", log)
        for round_ in range(ROUNDS):
            line = round_ % len(SCRIPT)
            for user in USERS:
                fake.user_message(user, SCRIPT[line][0])
                expected[user].append(line)
            if round_ == KILLED_IN:  # some of the round answered, the rest not yet: kill -9
                await until(lambda r=round_: any(len(fake.sent_to(u)) > r for u in USERS), "the round", log)
                process.kill()
                await process.wait()
                before = listening(fake, mode)
                process = await spawn(fake, tmp_path, mode, port)
                await until(lambda b=before: listening(fake, mode) > b, "Okno receiving again", log)
            await until(lambda: tally(fake, expected).lost == 0, f"round {round_} answered", log)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return tally(fake, expected)


@pytest.mark.parametrize("mode", ["longpoll", "webhook"])
async def test_a_max_process_killed_mid_round_loses_nothing(tmp_path: Path, mode: str) -> None:
    async with FakeMax() as fake:
        fake.webhook_attempts, fake.webhook_pause = 600, 0.1  # MAX goes on posting for hours
        result = await run_rounds(fake, tmp_path, mode)
    print("\n" + result.row(f"MAX {mode}, kill -9 mid-round", 0))  # noqa: T201 - the suite's report
    assert result.sent == len(USERS) * ROUNDS
    assert result.lost == 0 and result.out_of_order == 0, result.row(mode, 0)
    assert result.doubled <= len(USERS), result.row(mode, 0)  # only sends in flight at the kill
