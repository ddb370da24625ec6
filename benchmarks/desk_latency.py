"""How fast the Telegram desk answers people while the operators' group keeps to Telegram's limit.

`okno run` (PostgreSQL + Redis, Telegram's 20 posts a minute per group, edits counted) against the
fake Bot API holding the group to that limit. One group; 1, then 10, then 30 tickets taken by an
operator and active at once. During each round of `--seconds`, the active tickets' citizens write
`--per-minute` messages a minute among them, and every `--press-every` seconds the operator presses
«Требуется уточнение» on one of them, writes the question when asked to, and the citizen answers.
Measured:

- press → answer: from the press until the group shows what it did (here the prompt to write the
  question; for «Взять» or «Решено» the card's new buttons, which go out with the same priority);
- relay: from a citizen's message until it is in the ticket's topic;
- 429s the group answered (must be 0).

Run with `make bench` or `python benchmarks/desk_latency.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from telegram_e2e import REDIS_URL, drop_database, pg_database  # noqa: E402

from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

DESK = -1009100
OPERATOR = 7000
TRIGGER = "отказали в услуге без объяснения причин, что делать"
SKIPS = 4
ASK = "Требуется уточнение"
PROMPT = "напишите вопрос для гражданина"
QUESTION = "Уточните, пожалуйста, дату подачи заявления."
GROUP_LIMIT = 20


@dataclass
class Ticket:
    chat: int
    thread: int
    card: int


@dataclass
class Round:
    active: int
    presses: list[float] = field(default_factory=list)
    relays: list[float] = field(default_factory=list)
    unfinished: int = 0

    def line(self) -> str:
        return (
            f"| {self.active:>2} | {_p(self.presses, 50)} | {_p(self.presses, 95)} | {len(self.presses):>3} "
            f"| {_p(self.relays, 50)} | {_p(self.relays, 95)} | {len(self.relays):>3} | {self.unfinished} |"
        )


def _p(values: list[float], percentile: int) -> str:
    if not values:
        return "    —"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, round(percentile / 100 * (len(ordered) - 1)))]:5.1f}"


def buttons(fake: FakeTelegram, card: int) -> list[str]:
    markup = fake.messages.get((str(DESK), card), {}).get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def callback(fake: FakeTelegram, card: int, label: str) -> str:
    markup = fake.messages[(str(DESK), card)]["reply_markup"]
    return next(b["callback_data"] for row in markup["inline_keyboard"] for b in row if b["text"] == label)


async def open_and_take(fake: FakeTelegram, chats: list[int]) -> list[Ticket]:
    """Tickets opened by citizens, their topics posted, then taken by the operator."""
    for chat in chats:
        for text in [TRIGGER, *["нет"] * SKIPS]:
            fake.message_update(chat, text)
    started = time.monotonic()

    def numbers() -> dict[str, int]:
        found = {}
        for call in fake.calls_of("sendMessage"):
            text, chat = str(call.params.get("text", "")), call.params.get("chat_id")
            if chat in chats and text.startswith("Ваше обращение №"):
                found[text.split("№ ", 1)[1].split(" ", 1)[0].rstrip(".")] = int(chat)
        return found

    def cards() -> dict[int, Ticket]:
        found: dict[int, Ticket] = {}
        by_number = numbers()
        for thread, topic in fake.topics.items():
            chat = by_number.get(str(topic["name"]).split(" ", 1)[0])
            posts = [k[1] for k, m in fake.messages.items() if m.get("message_thread_id") == thread]
            if chat is not None and posts and buttons(fake, min(posts)):
                found[chat] = Ticket(chat, thread, min(posts))
        return found

    await fake.wait_for(lambda f: len(cards()) == len(chats), timeout=1800)
    tickets = list(cards().values())
    print(f"  {len(chats)} more tickets' topics posted in {time.monotonic() - started:.0f} s", flush=True)
    for ticket in tickets:
        fake.callback_update(DESK, callback(fake, ticket.card, "Взять"), OPERATOR, ticket.card)
    await fake.wait_for(lambda f: all(ASK in buttons(f, t.card) for t in tickets), timeout=1800)
    await quiet(fake)  # the takes' edits and renames out of the window: each round starts from an idle group
    return tickets


async def quiet(fake: FakeTelegram, seconds: float = 62.0) -> None:
    """Until the group has had no call for `seconds` (at most ten minutes)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        last = max((c.at for c in fake.calls if c.params.get("chat_id") == DESK), default=0.0)
        if time.monotonic() - last >= seconds:
            return
        await asyncio.sleep(1.0)


async def measure(fake: FakeTelegram, tickets: list[Ticket], args: argparse.Namespace) -> Round:
    result = Round(len(tickets))
    sent: dict[str, float] = {}  # citizen text → when it was written
    pressed: dict[int, float] = {}  # thread → when «Требуется уточнение» was pressed
    asked: set[int] = set()  # chats the operator's question is on its way to
    chat_of = {t.thread: t.chat for t in tickets}
    counter = itertools.count()
    started = time.monotonic()
    next_message, next_press = started, started + 1.0
    order, presses = itertools.cycle(tickets), itertools.cycle(tickets)
    seen = 0
    while time.monotonic() - started < args.seconds or sent or pressed:
        now = time.monotonic()
        if now - started > args.seconds + 60:
            result.unfinished = len(sent) + len(pressed)
            print(f"  never reached the group: {sorted(sent)}; presses unanswered: {len(pressed)}")
            break
        if now - started < args.seconds and now >= next_message:
            ticket = next(order)
            text = f"сообщение [{next(counter)}] по обращению"
            fake.message_update(ticket.chat, text)
            sent[text] = now
            next_message += 60 / args.per_minute
        if now - started < args.seconds and now >= next_press:
            ticket = next(presses)
            if ticket.thread not in pressed and ASK in buttons(fake, ticket.card):
                fake.callback_update(DESK, callback(fake, ticket.card, ASK), OPERATOR, ticket.card)
                pressed[ticket.thread] = now
            next_press += args.press_every
        calls = fake.calls
        for call in calls[seen:]:
            text, chat = str(call.params.get("text", "")), call.params.get("chat_id")
            if call.method != "sendMessage" or call.status != 200:
                continue
            thread = call.params.get("message_thread_id")
            if chat == DESK and PROMPT in text and thread in pressed:
                result.presses.append(call.at - pressed.pop(thread))
                fake.topic_update(DESK, thread, OPERATOR, "Анна", QUESTION)  # the question for the citizen
                asked.add(chat_of[thread])
            if chat == DESK:  # waiting messages go out together, the prompt among them at times
                for written in [t for t in sent if t in text]:
                    result.relays.append(call.at - sent.pop(written))
            elif chat in asked and QUESTION in text:
                asked.discard(chat)
                fake.message_update(chat, "уточняю: заявление подано вчера")  # back to «в работе»
        seen = len(calls)
        await asyncio.sleep(0.05)
    return result


async def run(args: argparse.Namespace) -> list[Round]:
    name = await pg_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")} | {
        "OKNO_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
        "OKNO_REDIS_URL": REDIS_URL,
        "OKNO_REDIS_PREFIX": f"bench-{name}:",
        "OKNO_DESK_CHAT_IDS": str(DESK),
        "OKNO_DESK_OPERATOR_IDS": str(OPERATOR),
        "OKNO_WEB_CHAT": "false",
        "OKNO_WEB_INBOX": "false",
        "OKNO_LOG_LEVEL": "WARNING",
    }
    rounds: list[Round] = []
    try:
        async with FakeTelegram() as fake:
            fake.add_group(DESK)
            fake.limit_groups(GROUP_LIMIT)
            env |= {"OKNO_TELEGRAM_TOKEN": fake.token, "OKNO_TELEGRAM_API_URL": fake.url}
            okno = [str(Path(sys.executable).parent / "okno"), "run"]
            process = await asyncio.create_subprocess_exec(
                *okno, env=env, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL
            )
            try:
                tickets: list[Ticket] = []
                chats = itertools.count(3000)
                for active in args.active:
                    tickets += await open_and_take(fake, [next(chats) for _ in range(active - len(tickets))])
                    rounds.append(await measure(fake, tickets[:active], args))
                    rounds[-1].unfinished += fake.too_many
                    print(rounds[-1].line(), flush=True)
                    if fake.too_many:
                        print(f"  the group answered {fake.too_many} calls with 429", flush=True)
            finally:
                process.terminate()
                await process.wait()
    finally:
        await drop_database(name)
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--active", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--seconds", type=float, default=90.0, help="length of each round")
    parser.add_argument("--per-minute", type=float, default=10.0, help="citizens' messages a minute")
    parser.add_argument("--press-every", type=float, default=30.0, help="seconds between presses")
    args = parser.parse_args()
    print(
        f"one group, {GROUP_LIMIT} posts a minute; citizens write {args.per_minute:g} a minute; "
        f"a press every {args.press_every:g} s; seconds"
    )
    print("| active tickets | press → answer p50 | p95 | presses | relay p50 | p95 | relays | lost or 429 |")
    print("|---|---|---|---|---|---|---|---|")
    rounds = asyncio.run(run(args))
    return 0 if all(r.unfinished == 0 for r in rounds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
