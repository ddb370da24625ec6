"""Handoff throughput end to end: citizens → tickets → operators' topics → replies back to citizens.

`okno run` runs as its own process on PostgreSQL + Redis against the fake Bot API of the
tests, with every rate limit off. Phase 1: each citizen triggers an escalation rule and
skips the identification questions; a ticket counts as opened when the citizen has its
number and its topic and card are in the operators' group. Phase 2: an operator writes in
every topic; a relay counts when the citizen has the message. Phase 3 counts the posts
one ticket's whole life costs in the group, which with Telegram's ~20 posts a minute per
group gives how many concurrent tickets one group sustains. Run with `make bench`.

How fast the desk answers under Telegram's limit (a press shown, a citizen's message relayed,
with 1, 10 and 30 active tickets in one group) is `benchmarks/desk_latency.py`, run right after
this one by `make bench`; its table is in the README.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from telegram_e2e import REDIS_URL, drop_database, peak_rss_mb, pg_database  # noqa: E402

from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

DESK = -1009000
OPERATOR = 7000
TRIGGER = "отказали в услуге без объяснения причин, что делать"
SKIPS = 4  # ФИО, СНИЛС, телефон, номер заявления
GROUP_POSTS_PER_MINUTE = 20
TYPICAL_TICKET_MINUTES = 15


class Seen:
    """What citizens received so far, read from the fake's calls once each (the checks run often)."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.read = 0
        self.numbers: dict[int, str] = {}
        self.replies: dict[int, int] = {}

    def update(self) -> None:
        calls = self.fake.calls
        for call in calls[self.read :]:
            chat, text = call.params.get("chat_id"), str(call.params.get("text", ""))
            if call.method != "sendMessage" or call.status != 200 or not isinstance(chat, int) or chat < 0:
                continue
            if text.startswith("Ваше обращение №"):
                self.numbers[chat] = text.split("№ ", 1)[1].split(" ", 1)[0].rstrip(".")
            elif "ответ оператора" in text:
                self.replies[chat] = self.replies.get(chat, 0) + 1
        self.read = len(calls)


def opened(fake: FakeTelegram, chat: int) -> str | None:
    for text in fake.sent_texts(chat):
        if text.startswith("Ваше обращение №"):
            return text.split("№ ", 1)[1].split(" ", 1)[0].rstrip(".")
    return None


def desk_calls(fake: FakeTelegram) -> int:
    return sum(1 for c in fake.calls if c.params.get("chat_id") == DESK and c.method != "getChatMember")


async def open_tickets(fake: FakeTelegram, chats: list[int]) -> tuple[float, dict[int, int]]:
    """Phase 1: tickets per second, and each chat's topic."""
    started = time.monotonic()
    for step in range(SKIPS + 1):
        for chat in chats:
            fake.message_update(chat, TRIGGER if step == 0 else "нет")
        await asyncio.sleep(0)
    seen = Seen(fake)

    def all_told(_: FakeTelegram) -> bool:
        seen.update()
        return len(seen.numbers) >= len(chats)

    await fake.wait_for(all_told, timeout=600)
    told = time.monotonic() - started
    numbers = {number: chat for chat, number in seen.numbers.items()}

    def threads() -> dict[int, int]:
        found = {}
        for thread, topic in fake.topics.items():
            number = str(topic["name"]).split(" ", 1)[0]
            if number in numbers:
                found[numbers[number]] = thread
        return found

    await fake.wait_for(lambda f: len(f.topics) >= len(chats) and len(threads()) == len(chats), timeout=600)
    posted = time.monotonic() - started
    print(
        f"  {len(chats)} citizens told their numbers after {told:.2f} s, "
        f"topics and cards done after {posted:.2f} s"
    )
    return len(chats) / posted, threads()


async def relay(fake: FakeTelegram, threads: dict[int, int], per_ticket: int) -> float:
    """Phase 2: operator messages per second until every citizen has them."""
    started = time.monotonic()
    for i in range(per_ticket):
        for thread in threads.values():
            fake.topic_update(DESK, thread, OPERATOR, "Анна", f"ответ оператора {i}")
        await asyncio.sleep(0)

    seen = Seen(fake)

    def done(_: FakeTelegram) -> bool:
        seen.update()
        return all(seen.replies.get(chat, 0) >= per_ticket for chat in threads)

    await fake.wait_for(done, timeout=600)
    return len(threads) * per_ticket / (time.monotonic() - started)


async def quiet(fake: FakeTelegram) -> None:
    """Until the operators' group has had no calls for a second (the cards of phase 2 are done)."""
    while True:
        before = desk_calls(fake)
        await asyncio.sleep(1.0)
        if desk_calls(fake) == before:
            return


async def lifecycle_posts(fake: FakeTelegram, chat: int) -> int:
    """Phase 3: group posts of one ticket's life: open, take, 3 messages each way, resolve."""
    await quiet(fake)
    before = desk_calls(fake)
    for text in [TRIGGER, *["нет"] * SKIPS]:
        fake.message_update(chat, text)
    await fake.wait_for(lambda f: opened(f, chat) is not None, timeout=60)
    number = opened(fake, chat)
    await fake.wait_for(lambda f: any(str(t["name"]).startswith(str(number)) for t in f.topics.values()))
    thread = next(k for k, t in fake.topics.items() if str(t["name"]).startswith(str(number)))
    await asyncio.sleep(1.0)
    card = max(k[1] for k, m in fake.messages.items() if m.get("message_thread_id") == thread)
    take = _button(fake, card, "Взять")
    fake.callback_update(DESK, take, OPERATOR, card)
    for i in range(3):
        fake.message_update(chat, f"вопрос {i}")
        fake.topic_update(DESK, thread, OPERATOR, "Анна", f"ответ {i}")
        await asyncio.sleep(1.0)
    fake.callback_update(DESK, _button(fake, card, "Решено"), OPERATOR, card)
    await fake.wait_for(lambda f: f.topics[thread].get("is_closed") is True, timeout=60)
    await asyncio.sleep(1.0)
    return desk_calls(fake) - before


def _button(fake: FakeTelegram, message_id: int, label: str) -> str:
    markup = fake.messages[(str(DESK), message_id)].get("reply_markup") or {}
    return next(b["callback_data"] for row in markup["inline_keyboard"] for b in row if b["text"] == label)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--replies", type=int, default=5, help="operator messages per ticket")
    args = parser.parse_args()
    name = await pg_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")} | {
        "OKNO_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
        "OKNO_REDIS_URL": REDIS_URL,
        "OKNO_REDIS_PREFIX": f"bench-{name}:",
        "OKNO_TELEGRAM_RATE_PER_SECOND": "0",
        "OKNO_TELEGRAM_CHAT_RATE_PER_SECOND": "0",
        "OKNO_DESK_CHAT_IDS": str(DESK),
        "OKNO_DESK_OPERATOR_IDS": str(OPERATOR),
        "OKNO_DESK_POSTS_PER_MINUTE": "0",
        "OKNO_WEB_CHAT": "false",  # measured on its own in web_chat.py
        "OKNO_WEB_INBOX": "false",
        "OKNO_DESK_CARD_DEBOUNCE_SECONDS": "0",
        "OKNO_WORKERS": "64",
        "OKNO_LOG_LEVEL": "WARNING",
    }
    try:
        async with FakeTelegram() as fake:
            fake.add_group(DESK)
            env |= {"OKNO_TELEGRAM_TOKEN": fake.token, "OKNO_TELEGRAM_API_URL": fake.url}
            okno = [str(Path(sys.executable).parent / "okno"), "run"]
            process = await asyncio.create_subprocess_exec(
                *okno, env=env, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL
            )
            try:
                fake.message_update(1, "привет")
                await fake.wait_for(lambda f: len(f.calls_of("sendMessage")) >= 1, timeout=60)
                opened_rate, threads = await open_tickets(fake, list(range(1000, 1000 + args.tickets)))
                relay_rate = await relay(fake, threads, args.replies)
                posts = await lifecycle_posts(fake, 99)
                rss = peak_rss_mb(process.pid)
            finally:
                process.terminate()
                await process.wait()
    finally:
        await drop_database(name)
    per_minute = GROUP_POSTS_PER_MINUTE / posts
    print(f"tickets opened (citizen told, topic + card posted)  {opened_rate:8,.1f} tickets/s")
    print(f"operator → citizen relays                            {relay_rate:8,.1f} messages/s")
    print(
        f"group posts over one ticket's life                   {posts:8d} (open, take, 3+3 messages, resolve)"
    )
    print(
        f"one group at {GROUP_POSTS_PER_MINUTE} posts/min: {per_minute:.1f} ticket lives a minute, "
        f"about {per_minute * TYPICAL_TICKET_MINUTES:.0f} concurrent tickets if each lasts "
        f"{TYPICAL_TICKET_MINUTES} min"
    )
    print(f"peak RSS of okno run                                 {rss:8.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
