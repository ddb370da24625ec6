"""MAX throughput end to end: simulated citizens → fake MAX Bot API → `okno run` → replies back to MAX.

`okno run` runs as its own process (SQLite + in-memory state) against the fake MAX server of the
tests, once by long polling and once by webhook, with the rate limiter off (and the fake's own
30-a-second limit off); then with the limiter at MAX's 30 requests a second and the fake refusing
anything over 30 in a second, in both modes and once with the pace kept in Redis as several
processes on one token would share it: the achieved request rate, the busiest second and the 429s
MAX gave are measured. Every message must be answered exactly once. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from vk_e2e import QUESTIONS, REDIS_URL, free_port, request_rate  # noqa: E402

from tests.fakes.max_api import FakeMax  # noqa: E402

LIMIT = 30  # MAX's requests a second per bot token
FIRST_USER = 7000


@dataclass
class Outcome:
    messages_per_second: float
    requests_per_second: float  # in the saturated middle of the run, every API request counted
    busiest: int  # requests in the busiest second, as the server saw them arrive
    refused: int  # 429s
    exact: bool


async def run_case(mode: str, chats: int, per_chat: int, rate: float, redis: bool = False) -> Outcome:
    port = free_port()
    database = ROOT / ".bench" / f"max-{uuid.uuid4().hex[:8]}.sqlite3"
    database.parent.mkdir(exist_ok=True)
    async with FakeMax() as fake:
        fake.rate_limit(LIMIT if rate else None)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")} | {
            "OKNO_MAX_TOKEN": fake.token,
            "OKNO_MAX_API_URL": fake.url,
            "OKNO_MAX_RATE_PER_SECOND": str(rate),
            "OKNO_MAX_MODE": mode,
            "OKNO_MAX_WEBHOOK_URL": f"http://127.0.0.1:{port}/max/webhook",
            "OKNO_MAX_WEBHOOK_SECRET": "bench-secret",
            "OKNO_WEB_PORT": str(port),
            "OKNO_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "OKNO_WORKERS": "64",
            "OKNO_LOG_LEVEL": "ERROR",
            "OKNO_WEB_CHAT": "false",  # measured on its own in web_chat.py
            "OKNO_WEB_INBOX": "false",
        }
        if redis:  # state and the MAX pace in Redis, as several processes would share them
            env |= {"OKNO_REDIS_URL": REDIS_URL, "OKNO_REDIS_PREFIX": f"okno-bench-{uuid.uuid4().hex[:8]}:"}
        okno = [str(Path(sys.executable).parent / "okno"), "run"]
        process = await asyncio.create_subprocess_exec(
            *okno, env=env, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL
        )
        users = range(FIRST_USER, FIRST_USER + chats)
        want = chats * per_chat
        try:
            await ready(fake, mode)
            started = time.monotonic()
            for i in range(per_chat):
                for user in users:
                    fake.user_message(user, QUESTIONS[(user + i) % len(QUESTIONS)])
                await asyncio.sleep(0)
            await fake.wait_for(lambda f: len(f.sent) >= want, timeout=900)
            seconds = time.monotonic() - started
            await asyncio.sleep(0.5)  # anything doubled would arrive now
        finally:
            if process.returncode is None:
                process.terminate()
            await process.wait()
    requests = sorted(c.at for c in fake.calls if c.at >= started and not c.method.startswith("GET /files"))
    rate, busiest = request_rate(requests)
    exact = len(fake.sent) == want and all(len(fake.sent_to(u)) == per_chat for u in users)
    return Outcome(want / seconds, rate, busiest, fake.too_many, exact)


async def ready(fake: FakeMax, mode: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (mode == "longpoll" and fake.calls_of("GET /updates")) or (
            mode == "webhook" and fake.subscriptions
        ):
            return
        await asyncio.sleep(0.1)
    raise SystemExit("okno run did not start")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--per-chat", type=int, default=5)
    args = parser.parse_args()
    ok = True
    for mode in ("longpoll", "webhook"):
        result = await run_case(mode, args.chats, args.per_chat, 0)
        ok &= result.exact
        verdict = "exactly once" if result.exact else "WRONG"
        print(f"{mode:<9} limiter off        {result.messages_per_second:7,.0f} messages/s, {verdict}")
    for mode, redis in (("longpoll", False), ("webhook", False), ("longpoll", True)):
        result = await run_case(mode, 60, 4, LIMIT, redis)
        good = result.exact and result.refused == 0 and result.requests_per_second >= 0.85 * LIMIT
        ok &= good
        where = "in Redis" if redis else "        "
        print(
            f"{mode:<9} limiter 30/s {where} {result.messages_per_second:5.1f} messages/s, "
            f"{result.requests_per_second:4.1f} requests/s ({result.requests_per_second / LIMIT:.0%} of 30), "
            f"busiest second {result.busiest}, 429s {result.refused}   "
            f"{'exactly once' if result.exact else 'WRONG'}"
        )
    print(
        "targets " + ("met" if ok else "NOT met") + " (>= 85 % of 30 requests/s, no 429, each message once)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
