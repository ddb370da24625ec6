"""Three `okno run` processes on one PostgreSQL and Redis: one does the work at a time, the others
wait; kill -9 of the one doing it, and another takes over — every message answered once and in
order, and never two pollers of the bot at once (Telegram would end one with 409)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from storage.leases import SINGLE_WORK
from tests.conftest import REDIS_URL, create_pg_database, drop_pg_database, pg_url
from tests.e2e.test_process import OKNO, environment
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_wire import POLL_CONFLICT
from tests.faults.drive import CHATS, SCRIPT, tally, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

LEADS = "this process does the work now"
WAITS = "another process does the work"


class Cluster:
    """`okno run` processes with the same settings, each logging into a file of its own."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env, self.workdir = env, workdir
        self.processes: dict[int, asyncio.subprocess.Process] = {}

    async def start(self, n: int, **extra: str) -> None:
        directory = self.workdir / f"okno-{n}"
        directory.mkdir(exist_ok=True)
        with (directory / "okno.log").open("ab") as log:
            self.processes[n] = await asyncio.create_subprocess_exec(
                OKNO,
                "run",
                env=self.env | extra,
                cwd=directory,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    def log(self, n: int) -> str:
        return (self.workdir / f"okno-{n}" / "okno.log").read_text(encoding="utf-8", errors="replace")

    def logs(self) -> str:
        return "\n".join(f"--- okno-{n}\n{self.log(n)[-2500:]}" for n in self.processes)

    def leaders(self) -> list[int]:
        """The live processes that have said they do the work."""
        return [n for n, p in self.processes.items() if p.returncode is None and LEADS in self.log(n)]

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.terminate()
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()


async def lease_holders(url: str) -> int:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        query = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return int(await connection.fetchval(query, SINGLE_WORK))
    finally:
        await connection.close()


@pytest.fixture
async def cluster(fake: FakeTelegram, tmp_path: Path) -> AsyncIterator[tuple[Cluster, str]]:
    name = await create_pg_database()
    url = pg_url(name)
    env = environment(
        fake,
        tmp_path,
        OKNO_DATABASE_URL=url,
        OKNO_REDIS_URL=REDIS_URL,
        OKNO_REDIS_PREFIX=f"okno-failover-{uuid.uuid4().hex[:8]}:",
    )
    made = Cluster(env, tmp_path)
    try:
        yield made, url
    finally:
        await made.stop()
        await drop_pg_database(name)


async def test_three_processes_do_the_work_once_and_fail_over_when_its_process_is_killed(
    fake: FakeTelegram, cluster: tuple[Cluster, str]
) -> None:
    okno, url = cluster
    for n in range(3):  # started together: they migrate one by one and elect one
        await okno.start(n)
    expected: dict[int, list[int]] = {chat: [] for chat in CHATS}
    step = 0

    def send_round() -> None:
        nonlocal step
        for chat in CHATS:
            fake.message_update(chat, SCRIPT[step % len(SCRIPT)][0])
            expected[chat].append(step % len(SCRIPT))
        step += 1

    def answered() -> bool:
        return tally(fake, expected).answered_once == sum(len(w) for w in expected.values())

    for _ in range(2):
        send_round()
    await until(answered, "the first rounds answered", okno.logs)
    await until(
        lambda: all(WAITS in okno.log(n) for n in okno.processes if n not in okno.leaders()), "two wait"
    )
    assert len(okno.leaders()) == 1 and await lease_holders(url) == 1, okno.logs()
    first = okno.leaders()[0]

    okno.processes[first].kill()  # kill -9 of the one doing the work
    await okno.processes[first].wait()
    send_round()
    recovery = await until(answered, "the round after the kill answered", okno.logs)
    second = [n for n in okno.leaders() if n != first]
    assert len(second) == 1 and await lease_holders(url) == 1, okno.logs()
    send_round()
    await until(answered, "the next round answered", okno.logs)

    final = tally(fake, expected)
    print(f"\nfailover: answered {recovery:.1f} s after kill -9; {final}")  # noqa: T201 - the suite's report
    assert final.lost == 0 and final.out_of_order == 0, okno.logs()
    assert final.doubled <= len(CHATS), okno.logs()  # only sends in flight at the kill, if any
    assert all(POLL_CONFLICT not in okno.log(n) for n in okno.processes), "two pollers at once"
