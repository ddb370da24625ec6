"""VK throughput end to end: simulated citizens → fake VK API → `okno run` → replies back through VK.

`okno run` runs as its own process (SQLite + in-memory state) against the fake VK server of the
tests, once with Bots Long Poll and once with the Callback API, with the rate limiter off; then
with the limiter at VK's 20 requests a second, where the achieved request rate, the busiest
second and the messages a second that `execute` batching carries are measured, once with the
pace kept in Redis as several processes on one token would share it. Every message
must be answered exactly once. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.vk_api import FakeVk  # noqa: E402

QUESTIONS = ["привет", "как восстановить пароль", "спасибо", "номер горячей линии", "пока"]
CONFIRMATION = "bench-confirm"
REDIS_URL = os.environ.get("OKNO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_case(
    mode: str, chats: int, per_chat: int, rate: float, batch: int = 25, redis: bool = False
) -> tuple[float, float, int, bool]:
    """Messages a second end to end, sends a second, the busiest second's sends, exactly once."""
    port = free_port()
    database = ROOT / ".bench" / f"vk-{uuid.uuid4().hex[:8]}.sqlite3"
    async with FakeVk() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")} | {
            "OKNO_VK_TOKEN": fake.token,
            "OKNO_VK_GROUP_ID": str(fake.group_id),
            "OKNO_VK_API_URL": fake.url,
            "OKNO_VK_RATE_PER_SECOND": str(rate),
            "OKNO_VK_MODE": mode,
            "OKNO_VK_EXECUTE_BATCH": str(batch),
            "OKNO_VK_CONFIRMATION": CONFIRMATION,
            "OKNO_WEB_PORT": str(port),
            "OKNO_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "OKNO_WORKERS": "64",
            "OKNO_LOG_LEVEL": "ERROR",
            "OKNO_WEB_CHAT": "false",  # measured on its own in web_chat.py
            "OKNO_WEB_INBOX": "false",
        }
        if redis:  # state and the VK pace in Redis, as several processes would share them
            env |= {"OKNO_REDIS_URL": REDIS_URL, "OKNO_REDIS_PREFIX": f"okno-bench-{uuid.uuid4().hex[:8]}:"}
        okno = [str(Path(sys.executable).parent / "okno"), "run"]
        process = await asyncio.create_subprocess_exec(
            *okno, env=env, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}/vk/callback"
        try:
            await ready(fake, mode, url)
            started = time.monotonic()
            for i in range(per_chat):
                events = [
                    fake.message_new(chat, QUESTIONS[(chat + i) % len(QUESTIONS)])
                    for chat in range(5000, 5000 + chats)
                ]
                if mode == "callback":  # VK posts several events at once
                    for start in range(0, len(events), 32):
                        await asyncio.gather(
                            *(fake.deliver_callback(url, e) for e in events[start : start + 32])
                        )
                await asyncio.sleep(0)
            want = chats * per_chat
            await fake.wait_for(lambda f: len(f.sent()) >= want, timeout=900)
            seconds = time.monotonic() - started
            await asyncio.sleep(0.5)  # anything doubled would arrive now
        finally:
            process.terminate()
            await process.wait()
        # requests, as VK counts them: an execute carrying 25 sends is one
        sends = sorted(c.at for c in fake.calls if c.method in ("messages.send", "execute") and not c.via)
        rate, busiest = request_rate(sends)
        exact = len(fake.sent()) == want and all(
            len(fake.sent(c)) == per_chat for c in range(5000, 5000 + chats)
        )
        return want / seconds, rate, busiest, exact


def request_rate(times: list[float]) -> tuple[float, int]:
    """Requests a second in the saturated middle of a run (not its ramp up and down), and the most
    in any one second, from when the server saw them arrive (sorted)."""
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    middle = times[len(times) // 10 : len(times) - len(times) // 10] or times
    return (len(middle) - 1) / max(middle[-1] - middle[0], 1e-9), busiest


async def ready(fake: FakeVk, mode: str, url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if mode == "longpoll" and fake.calls_of("longpoll"):
            return
        if mode == "callback":
            try:
                if (await fake.confirmation(url))[1] == CONFIRMATION:
                    return
            except OSError:
                pass
        await asyncio.sleep(0.1)
    raise SystemExit("okno run did not start")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--per-chat", type=int, default=5)
    args = parser.parse_args()
    ok = True
    for mode in ("longpoll", "callback"):
        rate, _, _, exact = await run_case(mode, args.chats, args.per_chat, 0)
        ok &= exact
        verdict = "exactly once" if exact else "WRONG"
        print(f"{mode:<9} limiter off   {rate:7,.0f} messages/s end to end   {verdict}")
    # one message a request: demand far above the budget shows what the limiter lets through
    _, sent, busiest, exact = await run_case("longpoll", 50, 4, 20, batch=1)
    ok &= exact and sent >= 18 and busiest <= 21  # evenly spaced: at most 20 + 1 in any second
    print(
        f"longpoll  limiter 20/s, no batching  {sent:5.1f} requests/s achieved ({sent / 20:.0%} of 20), "
        f"busiest second {busiest}   {'exactly once' if exact else 'WRONG'}"
    )
    _, sent, busiest, exact = await run_case("longpoll", 50, 4, 20, batch=1, redis=True)
    ok &= exact and sent >= 18 and busiest <= 21
    print(
        f"longpoll  limiter 20/s in Redis     {sent:5.1f} requests/s achieved ({sent / 20:.0%} of 20), "
        f"busiest second {busiest}   {'exactly once' if exact else 'WRONG'}"
    )
    messages, sent, busiest, exact = await run_case("longpoll", args.chats, args.per_chat, 20)
    ok &= exact and busiest <= 21
    print(
        f"longpoll  limiter 20/s, execute     {messages:5,.0f} messages/s in {sent:.1f} requests/s, "
        f"busiest second {busiest}   {'exactly once' if exact else 'WRONG'}"
    )
    print("targets " + ("met" if ok else "NOT met") + " (>= 90 % of 20 requests/s, no second over the limit)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
