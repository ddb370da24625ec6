"""Numbered rounds of messages to `okno run` around faults, and the table of what came back.

Shared by the fault suite (`tests/faults/`) and its longer run (`benchmarks/faults.py`).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.e2e.conftest import free_port
from tests.e2e.test_process import OKNO, environment
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_webhook import WebhookDelivery
from tests.faults.cluster import OwnPostgres
from tests.faults.services import OwnRedis

HEADER = f"{'fault':<32} {'sent':>5} {'answered':>8} {'lost':>5} {'doubled':>7} {'order':>5} {'recovery':>9}"
# each message gets a reply of its own kind, so the replies show which message each answers
SCRIPT = [("привет", "Здравствуйте"), ("спасибо", "Рад, что смог помочь"), ("ты бот?", "Я бот-помощник")]
CHATS = list(range(7001, 7011))
POISONED = 7999
API_GONE_SECONDS = 5.0
K = TypeVar("K")  # what a chat is known by


@dataclass
class Tally:
    sent: int = 0
    answered_once: int = 0
    lost: int = 0
    doubled: int = 0
    out_of_order: int = 0

    def count(self, got: list[int], wanted: list[int]) -> None:
        """One chat: the script lines its replies answer, against the ones sent to it."""
        deduped = [k for i, k in enumerate(got) if i == 0 or got[i - 1] != k]  # the script never repeats
        self.sent += len(wanted)
        self.doubled += len(got) - len(deduped)
        self.lost += max(0, len(wanted) - len(deduped))
        self.answered_once += min(len(wanted), len(deduped))
        self.out_of_order += sum(1 for a, b in zip(deduped, wanted, strict=False) if a != b)

    def row(self, fault: str, recovery: float) -> str:
        return (
            f"{fault:<32} {self.sent:>5} {self.answered_once:>8} {self.lost:>5} {self.doubled:>7} "
            f"{self.out_of_order:>5} {recovery:>9.1f}"
        )


def script_lines(texts: Sequence[str]) -> list[int]:
    """Which script line each reply answers (-1: none), in the order given."""
    return [next((i for i, (_, start) in enumerate(SCRIPT) if text.startswith(start)), -1) for text in texts]


def kinds(fake: FakeTelegram, chat: int) -> list[int]:
    """Which script line each reply to the chat answers, in the order they were sent."""
    texts = [
        str(c.params["text"])
        for c in fake.calls_of("sendMessage")
        if c.params.get("chat_id") == chat and c.status == 200
    ]
    return script_lines(texts)


def tally_of(got: Callable[[K], list[int]], expected: dict[K, list[int]]) -> Tally:
    """Every chat's replies (`got`: their script lines) against the lines sent to it."""
    result = Tally()
    for chat, wanted in expected.items():
        result.count(got(chat), wanted)
    return result


def tally(fake: FakeTelegram, expected: dict[int, list[int]]) -> Tally:
    return tally_of(lambda chat: kinds(fake, chat), expected)


async def until(
    condition: Callable[[], bool], what: str, log: Callable[[], str] = str, timeout: float = 120
) -> float:
    """Seconds until `condition` holds; on a timeout the failure shows the end of Okno's log."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"still waiting after {timeout} s for {what}\n{log()}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


class Drive:
    """Numbered rounds of messages around each fault, and the table of what came back."""

    def __init__(
        self,
        fake: FakeTelegram,
        env: dict[str, str],
        cwd: Path,
        chats: list[int] | None = None,
        rounds: int = 1,
    ) -> None:
        self.fake, self.env, self.cwd = fake, env, cwd
        self.chats = chats or CHATS
        self.rounds = rounds  # rounds sent before and after each fault
        self.expected: dict[int, list[int]] = {chat: [] for chat in self.chats}
        self.table: list[str] = []
        self.step = 0
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """`okno run` logging into a file: a pipe nobody reads would fill with the outages' warnings
        and stop the process mid-write."""
        with (self.cwd / "okno.log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                OKNO,
                "run",
                env=self.env,
                cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    def log_tail(self) -> str:
        return (self.cwd / "okno.log").read_text(encoding="utf-8", errors="replace")[-3000:]

    def send_round(self) -> None:
        for chat in self.chats:
            self.fake.message_update(chat, SCRIPT[self.step % len(SCRIPT)][0])
            self.expected[chat].append(self.step % len(SCRIPT))
        self.step += 1

    def answered(self) -> bool:
        return tally(self.fake, self.expected).answered_once == sum(len(w) for w in self.expected.values())

    async def through(self, name: str, fault: Callable[[], Awaitable[object]]) -> None:
        """A round, the fault, a round; then every message answered, and the process still up."""
        for _ in range(self.rounds):
            self.send_round()
        await fault()
        for _ in range(self.rounds):
            self.send_round()
        recovery = await until(self.answered, f"the answers after «{name}»", self.log_tail)
        assert self.process is not None and self.process.returncode is None, f"okno run exited: «{name}»"
        self.table.append(tally(self.fake, self.expected).row(name, recovery))

    async def kill_and_restart(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()
        await self.start()

    async def stop_and_restart(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 90)
        assert self.process.returncode == 0
        await self.start()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 90)


def poison_updates() -> list[dict[str, Any]]:
    chat = {"id": POISONED, "type": "private"}  # not one of the counted chats: its replies vary
    person = {"id": POISONED, "is_bot": False, "first_name": "Иван"}
    message = {"message_id": 1, "date": 1700000000, "chat": chat, "from": person}
    return [
        {"message": "hi"},  # a string where an object belongs
        {"message": message | {"chat": 5, "text": "число вместо чата"}},
        {"message": message | {"chat": {"id": 10**40, "type": "private"}, "text": "длинный id"}},
        {"message": message | {"text": "нулевой\x00байт и \ud800 одинокий суррогат"}},
        {"message": message | {"from": person | {"first_name": "Я" * 1000}, "text": "длинное имя"}},
        {"callback_query": {"id": "1", "from": person, "chat_instance": "1", "data": "x" * 300}},
        {"something_new": {"field": [1, 2, 3]}},
    ]


@dataclass
class Run:
    """What the faults did to the messages: a row per fault and the whole run's tally."""

    backend: str
    table: list[str]
    final: Tally

    def report(self) -> str:
        return f"{self.backend}\n{HEADER}\n" + "\n".join(self.table)


async def run_faults(
    fake: FakeTelegram, workdir: Path, backend: str, chats: list[int] | None = None, rounds: int = 1
) -> Run:
    """`okno run` on its own PostgreSQL and Redis (or SQLite and memory) through every fault."""
    postgres, redis = OwnPostgres(), OwnRedis(workdir)
    if backend == "postgresql+redis":
        await asyncio.to_thread(postgres.init)
        redis.start()
        env = environment(fake, workdir, OKNO_DATABASE_URL=postgres.url, OKNO_REDIS_URL=redis.url)
    else:
        env = environment(fake, workdir)
    drive = Drive(fake, env, workdir, chats, rounds)
    await drive.start()

    async def nothing() -> None:
        return None

    async def api_errors() -> None:  # 429s, JSON 500s and nginx's HTML 502 page, one after another
        fake.fail_next("sendMessage", status=429, retry_after=1, count=3)
        fake.fail_next_with_html("sendMessage", count=3)
        fake.fail_next("sendMessage", status=500, count=3)

    async def api_hangs() -> None:  # answers held for seconds, as a congested Bot API does
        fake.hang_next("sendMessage", 5, count=5)

    async def poison() -> None:  # updates a buggy proxy or a new Bot API version could send
        for update in poison_updates():
            fake.push_update(update)

    async def api_gone() -> None:  # the API host down: connections refused, open ones dropped
        await fake.go_away()
        await asyncio.sleep(API_GONE_SECONDS)  # the length of the outage, not a wait for a result
        await fake.come_back()

    def redis_loss() -> None:
        redis.kill()
        redis.start()

    try:
        await drive.through("none", nothing)
        await drive.through("Bot API 429 / 500 / HTML 502", api_errors)
        await drive.through("Bot API hangs 5 s", api_hangs)
        await drive.through(f"Bot API gone {API_GONE_SECONDS:.0f} s (refused)", api_gone)
        await drive.through("poison and odd updates", poison)
        if backend == "postgresql+redis":
            await drive.through("PostgreSQL restart -m fast", lambda: asyncio.to_thread(postgres.restart))
            await drive.through("Redis kill -9, back empty", lambda: asyncio.to_thread(redis_loss))
        await drive.through("kill -9 in flight, restart", drive.kill_and_restart)
        await drive.through("SIGTERM with a backlog", drive.stop_and_restart)
    finally:
        await drive.stop()
        redis.kill()
        await asyncio.to_thread(postgres.remove)
    return Run(backend, drive.table, tally(fake, drive.expected))


async def run_webhook_faults(
    fake: FakeTelegram, workdir: Path, chats: list[int] | None = None, rounds: int = 1
) -> Run:
    """`okno run` receiving by webhook (SQLite and memory) while Telegram's side posts every update
    until it gets a 200: updates posted twice, and posted into a killed process until it is back."""
    port = free_port()
    env = environment(
        fake,
        workdir,
        OKNO_TELEGRAM_MODE="webhook",
        OKNO_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}",
        OKNO_TELEGRAM_WEBHOOK_SECRET="fault-suite-secret",
        OKNO_WEB_PORT=str(port),
    )
    drive = Drive(fake, env, workdir, chats, rounds)
    async with WebhookDelivery(fake) as delivery:
        await drive.start()

        async def nothing() -> None:
            return None

        async def twice() -> None:
            delivery.redeliver(len(drive.chats) * rounds)

        try:
            await drive.through("webhook", nothing)
            await drive.through("webhook: each update twice", twice)
            confirmed = [update for update, status in delivery.posts if status == 200]
            twice_posted = len(confirmed) - len(set(confirmed))
            assert twice_posted >= len(drive.chats) * rounds, "no update was posted twice"
            await drive.through("webhook: kill -9, posted again", drive.kill_and_restart)
            await drive.through("webhook: SIGTERM, posted again", drive.stop_and_restart)
        finally:
            await drive.stop()
    return Run("webhook, sqlite+memory", drive.table, tally(fake, drive.expected))
