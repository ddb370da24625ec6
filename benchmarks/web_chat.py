"""Citizen web chat end to end: concurrent WebSocket citizens → `okno run` → the engine's replies.

`okno run` runs as its own process, once on SQLite + in-memory state and once on PostgreSQL +
Redis, with the chat's own rate limits raised so that throughput is measured rather than the
limiter. Case 1: C citizens, each on its own socket, send M messages in sequence (send, wait
for the reply, next); measured are messages a second end to end (connecting and the greeting
not counted) and the latency from a message sent to the first frame of its reply. Case 2: N
sockets open, greeted and idle; measured is how much the resident memory of okno grows, per
1,000 idle sockets. Every message must be answered, with no error frames, and all N idle
sockets open. C citizens who each write again the moment they are answered keep the server
saturated, so their latency is about C divided by the throughput (Little's law): the p99 target,
2 s at the default 200 citizens, checks that nobody waits far longer than that. Run with
`make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from telegram_e2e import REDIS_URL, drop_database, pg_database  # noqa: E402
from vk_e2e import free_port  # noqa: E402

from dialog.classifier import build_classifier  # noqa: E402
from dialog.engine import ConversationEngine  # noqa: E402
from dialog.messages import InboundMessage  # noqa: E402
from dialog.state import ConversationState  # noqa: E402

# no phrase that asks for an operator: that would start a handoff dialog
QUESTIONS = ["привет", "как восстановить пароль", "спасибо", "номер горячей линии", "не приходит смс с кодом"]
SQLITE, POSTGRES = "sqlite+memory", "postgresql+redis"
P99_TARGET_MS = 2000.0  # at saturation with the default 200 citizens, see above
OPENING_AT_ONCE = 100  # sockets being opened (connect, hello, welcome, greeting) at the same time
OPEN_SECONDS = 30.0  # one socket's connect, welcome and greeting
REPLY_SECONDS = 30.0  # a message's first reply frame
DRAIN_SECONDS = 0.05  # quiet after the expected replies: nothing more belongs to this message
SETTLE_SECONDS = 1.0
HEALTH_SECONDS = 60.0
Socket = aiohttp.ClientWebSocketResponse


@dataclass
class Talk:
    """What case 1 saw: citizens exchanging messages."""

    citizens: int
    planned: int
    expected_replies: int
    sent: int = 0
    acks: int = 0
    answered: int = 0
    replies: int = 0
    unanswered: int = 0  # no reply within REPLY_SECONDS: that citizen sends nothing more
    errors: int = 0
    broken: Counter[str] = field(default_factory=Counter)  # sockets that failed to open or broke, why
    latencies: list[float] = field(default_factory=list)
    started: float = 0.0
    last_reply: float = 0.0  # the exchange ends with the last reply, not with a wait that timed out
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.answered == self.planned and self.errors == 0 and self.p99_ms() < P99_TARGET_MS

    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000

    def line(self, name: str, per_citizen: int) -> str:
        seconds = self.last_reply - self.started
        rate = self.answered / seconds if seconds > 0 else 0.0
        p50 = statistics.median(self.latencies) * 1000 if self.latencies else math.nan
        return (
            f"{name:<17} {self.citizens:,} citizens × {per_citizen:<4} {rate:7,.0f} messages/s   "
            f"p50 {p50:5.0f} ms  p99 {self.p99_ms():5.0f} ms   {', '.join(self.verdicts())}"
        )

    def verdicts(self) -> list[str]:
        """Whether every message was answered, then anything else that went wrong."""
        if self.answered == self.planned:
            found = ["every message answered"]
        else:
            found = [f"ONLY {self.answered:,} OF {self.planned:,} ANSWERED"]
        wrong = {
            f"{self.unanswered:,} UNANSWERED within {REPLY_SECONDS:.0f} s": self.unanswered > 0,
            f"{self.planned - self.sent:,} not sent": self.sent < self.planned,
            f"{self.errors:,} ERROR FRAMES": self.errors > 0,
            f"{self.broken.total():,} sockets failed or broke ({describe(self.broken)})": bool(self.broken),
            f"{self.replies:,} reply frames for {self.expected_replies:,} expected": (
                self.answered == self.planned and self.replies != self.expected_replies
            ),
            f"{self.acks:,} acks for {self.sent:,} sent": self.acks != self.sent,
            "TIMED OUT": self.timed_out,
        }
        return found + [text for text, bad in wrong.items() if bad]


@dataclass
class Idle:
    """What case 2 saw: sockets open and idle, and okno's resident memory before and after."""

    wanted: int
    opened: int
    still_open: int
    failed: Counter[str]
    frames: int  # frames idle sockets got after their greeting (none are expected)
    before_mb: float
    after_mb: float

    @property
    def ok(self) -> bool:
        return self.opened == self.wanted and self.still_open == self.wanted

    def line(self, name: str) -> str:
        grown = self.after_mb - self.before_mb
        per = grown * 1000 / self.opened if self.opened else math.nan
        text = (
            f"{name:<17} {self.opened:,} idle sockets   RSS {grown:+.1f} MB ({per:.1f} MB per 1,000), "
            f"total {self.after_mb:.0f} MB"
        )
        if self.opened != self.wanted or self.still_open != self.opened:
            text += f"   ONLY {self.still_open:,} OF {self.wanted:,} OPEN"
            text += f" ({self.failed.total():,} failed: {describe(self.failed)})" if self.failed else ""
        if self.frames:
            text += f", {self.frames:,} unexpected frames"
        return text


@dataclass
class Crowd:
    """Open sockets; idle ones keep reading so the server's pings are answered."""

    sockets: list[Socket] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)  # why sockets did not open
    frames: int = 0

    async def keep_reading(self, ws: Socket) -> None:
        async for _ in ws:
            self.frames += 1

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(ws.close() for ws in self.sockets)), 20)


def reason(exc: BaseException) -> str:
    """What went wrong, short enough to count: our own messages as they are, others by their type."""
    if isinstance(exc, TimeoutError | ConnectionError) and str(exc):
        return str(exc)
    return type(exc).__name__


def describe(reasons: Counter[str]) -> str:
    return ", ".join(f"{text} ×{count:,}" for text, count in reasons.most_common())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.inf
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def raise_fd_limit() -> int:
    """Soft limit of open files up to the hard one; okno, a child, inherits it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def plan(citizens: int, per_citizen: int) -> list[tuple[list[str], list[int]]]:
    """Each citizen's texts and how many reply frames each gets (after the greeting of /start)."""
    engine = ConversationEngine(build_classifier())
    rotations: dict[int, tuple[list[str], list[int]]] = {}
    for offset in range(len(QUESTIONS)):
        texts = [QUESTIONS[(offset + i) % len(QUESTIONS)] for i in range(per_citizen)]
        state, counts = ConversationState(), []
        for text in ["/start", *texts]:
            turn = engine.handle(InboundMessage("web", "1", "1", text=text), state)
            state = turn.state
            counts.append(len(turn.replies))
        rotations[offset] = texts, counts[1:]
    return [rotations[c % len(QUESTIONS)] for c in range(citizens)]


@contextlib.asynccontextmanager
async def reporting(line: Callable[[], str]) -> AsyncIterator[None]:
    """A line to stderr every 2 s while a long phase runs."""

    async def report() -> None:
        while True:
            await asyncio.sleep(2.0)
            print(f"  {line()}", file=sys.stderr, flush=True)

    task = asyncio.create_task(report())
    try:
        yield
    finally:
        task.cancel()


def progress(label: str, done: Callable[[], int], total: int) -> contextlib.AbstractAsyncContextManager[None]:
    """Counts to stderr every 2 s while a long phase runs."""
    return reporting(lambda: f"{label} {done():,}/{total:,}")


@contextlib.asynccontextmanager
async def backend(name: str) -> AsyncIterator[dict[str, str]]:
    """The environment of one backend; its database (and Redis keys) go away afterwards."""
    if name == SQLITE:
        (ROOT / ".bench").mkdir(exist_ok=True)
        database = ROOT / ".bench" / f"web-{uuid.uuid4().hex[:8]}.sqlite3"
        try:
            yield {"OKNO_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                database.with_name(database.name + suffix).unlink(missing_ok=True)
        return
    pg = await pg_database()
    prefix = f"bench-{pg}:"
    try:
        yield {
            "OKNO_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg}",
            "OKNO_REDIS_URL": REDIS_URL,
            "OKNO_REDIS_PREFIX": prefix,
        }
    finally:
        await drop_database(pg)
        await clean_redis(prefix)


async def clean_redis(prefix: str) -> None:
    from redis.asyncio import Redis  # noqa: PLC0415 - only this backend needs it

    client = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def running_okno(
    extra: dict[str, str], port: int, overrides: dict[str, str] | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`okno run` as its own process, healthy, with a clean OKNO_* environment (this benchmark's
    settings, then `overrides`); stopped with SIGTERM."""
    settings = {
        "OKNO_WORKERS": "64",
        "OKNO_WEB_INBOX": "false",  # the inbox is not measured here
        "OKNO_WEB_CHAT_RATE_PER_SECOND": "1000",  # the limiter is not what is measured
        "OKNO_WEB_CHAT_IP_RATE_PER_SECOND": "100000",  # every benchmark socket is 127.0.0.1
        # nor the per-address budgets of new chats and open sockets
        "OKNO_WEB_CHAT_NEW_PER_HOUR": "1000000",
        "OKNO_WEB_CHAT_NEW_AT_ONCE": "1000000",
        "OKNO_WEB_CHAT_SOCKETS_PER_ADDRESS": "1000000",
    }
    async with okno_process(extra | settings | (overrides or {}), port) as (process, _):
        yield process


@contextlib.asynccontextmanager
async def okno_process(
    extra: dict[str, str], port: int, log_file: Path | None = None
) -> AsyncIterator[tuple[asyncio.subprocess.Process, float]]:
    """`okno run` with a clean OKNO_* environment and `extra`, serving at 127.0.0.1:`port`: the
    process and the seconds from its spawn until /healthz said 200; stopped with SIGTERM. Its output
    goes to `log_file` if given (shown if it exits before it is healthy), else to this terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")}
    env |= {"OKNO_WEB_HOST": "127.0.0.1", "OKNO_WEB_PORT": str(port), "OKNO_LOG_LEVEL": "ERROR"} | extra
    okno = [str(Path(sys.executable).parent / "okno"), "run"]
    with contextlib.ExitStack() as files:
        output = files.enter_context(log_file.open("ab")) if log_file is not None else None
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *okno, env=env, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output
        )
    try:
        ready = await healthy(process, port, started, log_file)
        yield process, ready
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def healthy(
    process: asyncio.subprocess.Process, port: int, started: float, log_file: Path | None = None
) -> float:
    """Seconds from `started` until /healthz answers 200."""
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - started < HEALTH_SECONDS:
            if process.returncode is not None:
                tail = log_file.read_text(errors="replace")[-2000:] if log_file is not None else ""
                raise SystemExit(
                    f"okno run exited with code {process.returncode} before it was healthy\n{tail}"
                )
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            await asyncio.sleep(0.02)
    raise SystemExit(f"okno run did not answer 200 at {url} within {HEALTH_SECONDS:.0f} s")


async def receive(ws: Socket, timeout: float | None) -> dict[str, Any] | None:
    """The next JSON frame, or None when none came in time; a closed socket raises ConnectionError."""
    try:
        message = await ws.receive(timeout=None if timeout is None else max(timeout, 0.001))
    except TimeoutError:
        return None
    if message.type != aiohttp.WSMsgType.TEXT:
        raise ConnectionError(f"the socket closed ({message.type.name})")
    frame = json.loads(message.data)
    return frame if isinstance(frame, dict) else {}


async def open_socket(session: aiohttp.ClientSession, url: str) -> Socket:
    """A new visitor: hello, welcome with an empty history, then the bot's greeting (the menu)."""
    deadline = time.monotonic() + OPEN_SECONDS
    try:
        async with asyncio.timeout(OPEN_SECONDS):
            ws = await session.ws_connect(url, autoping=True)
    except TimeoutError:
        raise TimeoutError(f"no handshake within {OPEN_SECONDS:.0f} s") from None
    try:
        await ws.send_json({"type": "hello", "visitor": None})
        welcomed = False
        while True:
            frame = await receive(ws, deadline - time.monotonic())
            if frame is None:
                raise TimeoutError(f"no {'greeting' if welcomed else 'welcome'} within {OPEN_SECONDS:.0f} s")
            if frame.get("type") == "error":
                raise ConnectionError(f"error frame while opening: {frame.get('text')}")
            if welcomed and frame.get("type") == "message":
                return ws
            welcomed |= frame.get("type") == "welcome"
    except BaseException:
        await ws.close()
        raise


async def open_sockets(
    session: aiohttp.ClientSession, url: str, count: int, seconds: float, idle: bool
) -> Crowd:
    """`count` greeted sockets, OPENING_AT_ONCE at a time, as many as `seconds` allow."""
    crowd, gate = Crowd(), asyncio.Semaphore(OPENING_AT_ONCE)

    async def one() -> None:
        async with gate:
            try:
                ws = await open_socket(session, url)
            except (aiohttp.ClientError, OSError, ValueError) as exc:  # OSError: refused, timed out
                crowd.failed[reason(exc)] += 1
                return
            crowd.sockets.append(ws)
            if idle:
                crowd.readers.append(asyncio.create_task(crowd.keep_reading(ws)))

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    async with progress("opened", lambda: len(crowd.sockets), count):
        _, pending = await asyncio.wait(tasks, timeout=seconds) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if pending:
        crowd.failed[f"not opened within {seconds:.0f} s"] += len(pending)
    return crowd


async def replies(ws: Socket, client_id: str, want: int, stats: Talk) -> tuple[float | None, int]:
    """When the first reply frame came, and how many came: `want`, then until 50 ms pass quietly."""
    first, got = None, 0
    while True:
        frame = await receive(ws, REPLY_SECONDS if got < want else DRAIN_SECONDS)
        if frame is None:
            return first, got
        kind = frame.get("type")
        if kind == "message":
            got += 1
            first = first or time.monotonic()
        elif kind == "ack":
            stats.acks += 1
        elif kind == "error":
            stats.errors += 1
            if frame.get("id") == client_id and got == 0:
                return None, 0  # refused: no reply will come


async def talk(ws: Socket, texts: list[str], want: list[int], stats: Talk, pause: float = 0.0) -> None:
    """One citizen: each message after the previous one's replies (and `pause` seconds of typing);
    none after one left unanswered."""
    try:
        for i, (text, count) in enumerate(zip(texts, want, strict=True)):
            if i and pause:
                await asyncio.sleep(pause)
            client_id = uuid.uuid4().hex
            sent = time.monotonic()
            await ws.send_json({"type": "message", "id": client_id, "text": text})
            stats.sent += 1
            first, got = await replies(ws, client_id, count, stats)
            stats.replies += got
            if first is None:  # lost or refused: waiting on would only measure the timeout
                stats.unanswered += 1
                return
            stats.answered += 1
            stats.latencies.append(first - sent)
            stats.last_reply = max(stats.last_reply, first)
    except (aiohttp.ClientError, ConnectionError, ValueError) as exc:
        stats.broken[reason(exc)] += 1


async def exchange_case(url: str, work: list[tuple[list[str], list[int]]], seconds: float) -> Talk:
    """Case 1: all citizens connected and greeted, then all talking at once."""
    stats = Talk(len(work), sum(len(t) for t, _ in work), sum(sum(w) for _, w in work))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        crowd = await open_sockets(session, url, len(work), seconds, idle=False)
        stats.broken = crowd.failed
        await talk_all(list(zip(crowd.sockets, work, strict=False)), stats, seconds)
        await crowd.close()
    return stats


async def talk_all(
    pairs: list[tuple[Socket, tuple[list[str], list[int]]]], stats: Talk, seconds: float
) -> None:
    """Every citizen talks at once, each on its socket, for at most `seconds`; progress shown."""
    stats.started = stats.last_reply = time.monotonic()
    tasks = [asyncio.create_task(talk(ws, texts, want, stats)) for ws, (texts, want) in pairs]
    async with progress("answered", lambda: stats.answered, stats.planned):
        _, pending = await asyncio.wait(tasks, timeout=seconds) if tasks else (set(), set())
    stats.timed_out = bool(pending)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def idle_case(url: str, pid: int, count: int, seconds: float) -> Idle:
    """Case 2: okno's RSS before and after `count` greeted sockets that then stay idle."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        warm = await open_sockets(session, url, 1, seconds, idle=False)  # one-time costs are not per socket
        await warm.close()
        await asyncio.sleep(SETTLE_SECONDS)
        before = rss_mb(pid)
        crowd = await open_sockets(session, url, count, seconds, idle=True)
        await asyncio.sleep(SETTLE_SECONDS)
        after = rss_mb(pid)
        still_open = sum(not ws.closed for ws in crowd.sockets)
        await crowd.close()
    return Idle(count, len(crowd.sockets), still_open, crowd.failed, crowd.frames, before, after)


async def run_backend(name: str, args: argparse.Namespace) -> tuple[Talk, Idle]:
    """Both cases on one backend, each with an `okno run` of its own so the RSS starts clean."""
    print(f"{name}: {args.citizens} citizens × {args.messages} messages", file=sys.stderr, flush=True)
    work = plan(args.citizens, args.messages)
    async with backend(name) as extra:
        port = free_port()
        async with running_okno(extra, port):
            talked = await exchange_case(f"ws://127.0.0.1:{port}/chat/ws", work, args.timeout)
        print(f"{name}: {args.idle} idle sockets", file=sys.stderr, flush=True)
        port = free_port()
        async with running_okno(extra, port) as process:
            idle = await idle_case(f"ws://127.0.0.1:{port}/chat/ws", process.pid, args.idle, args.timeout)
    return talked, idle


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=200, help="concurrent sockets exchanging messages")
    parser.add_argument("--messages", type=int, default=5, help="messages each citizen sends in sequence")
    parser.add_argument("--idle", type=int, default=1000, help="idle sockets whose memory is measured")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds each phase may take at most")
    parser.add_argument("--backend", choices=[SQLITE, POSTGRES], action="append", help="default: both")
    args = parser.parse_args()
    limit = raise_fd_limit()
    if limit < args.idle + args.citizens + 200:
        print(f"open files are limited to {limit}: too few for the sockets asked for", file=sys.stderr)
    lines, ok = [], True
    for name in args.backend or [SQLITE, POSTGRES]:
        talked, idle = await run_backend(name, args)
        lines += [talked.line(name, args.messages), idle.line(name)]
        ok &= talked.ok and idle.ok
    for line in lines:
        print(line)
    print(
        "targets " + ("met" if ok else "NOT met") + f" (every message answered, no error frames, "
        f"p99 < {P99_TARGET_MS:,.0f} ms, all {args.idle:,} idle sockets open)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
