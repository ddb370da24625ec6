"""`okno dlq list / show / retry / drop`: the work Okno gave up, with the reasons."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from bots.database_cli import on_database
from bots.settings import Settings
from storage.dead_letters import DeadLetterStore

WHAT = {
    "update": "an update from a citizen",
    "job": "a handoff job",
    "reply": "a reply to a citizen",
    "post": "a post for the operators' topic",
}


def add_dlq_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = sub.add_parser("dlq", help="work given up (dead letters): list, show, retry, drop")
    commands = dlq.add_subparsers(dest="dlq_command", metavar="COMMAND")
    listing = commands.add_parser("list", help="the newest dead letters with their reasons")
    listing.add_argument("--limit", type=int, default=50)
    for name, text in (
        ("show", "everything kept about one dead letter"),
        ("retry", "put the work back in its queue; the letter goes"),
        ("drop", "forget the letter (the work stays given up)"),
    ):
        commands.add_parser(name, help=text).add_argument(
            "id", type=int, nargs="+" if name == "drop" else None
        )


def cmd_dlq(args: argparse.Namespace, settings: Settings) -> int:
    out = sys.stdout
    actions: dict[str, Callable[[DeadLetterStore], Awaitable[int]]] = {
        "list": lambda store: _list(store, args.limit, out),
        "show": lambda store: _show(store, args.id, out),
        "retry": lambda store: _retry(store, args.id, out),
        "drop": lambda store: _drop(store, args.id, out),
    }
    try:
        return _run(settings, actions[args.dlq_command])
    except (OSError, SQLAlchemyError) as exc:
        sys.stderr.write(f"Cannot reach the database: {exc}\nCheck OKNO_DATABASE_URL.\n")
        return 2


def _run(settings: Settings, action: Callable[[DeadLetterStore], Awaitable[int]]) -> int:
    return on_database(settings, DeadLetterStore, action)


async def _list(store: DeadLetterStore, limit: int, out: TextIO) -> int:
    letters = await store.letters(limit)
    if not letters:
        out.write("No dead letters: nothing was given up.\n")
        return 0
    total = await store.count()
    for letter in letters:
        when = letter.created_at.strftime("%Y-%m-%d %H:%M")
        out.write(f"{letter.id:>6}  {when}  {letter.kind:<6}  {letter.chat:<28}  {_line(letter.reason)}\n")
    if total > len(letters):
        out.write(f"… {total - len(letters)} older; --limit shows more.\n")
    out.write("`okno dlq show ID` for the details, `okno dlq retry ID` to try again.\n")
    return 0


async def _show(store: DeadLetterStore, letter_id: int, out: TextIO) -> int:
    letter = await store.letter(letter_id)
    if letter is None:
        return _missing(letter_id)
    lines = [
        f"dead letter {letter.id}: {WHAT.get(letter.kind, letter.kind)} ({letter.kind} {letter.ref_id})",
        f"  key       {letter.key}",
        f"  chat      {letter.chat}",
        f"  given up  {letter.created_at:%Y-%m-%d %H:%M:%S} after {letter.attempts} attempt(s)",
        f"  reason    {letter.reason}",
        f"  payload   {json.dumps(letter.payload, ensure_ascii=False)[:4000]}",
    ]
    out.write("\n".join(lines) + "\n")
    return 0


async def _retry(store: DeadLetterStore, letter_id: int, out: TextIO) -> int:
    letter = await store.retry(letter_id)
    if letter is None:
        return _missing(letter_id)
    out.write(
        f"{WHAT.get(letter.kind, letter.kind).capitalize()} is back in its queue; a running Okno takes it.\n"
    )
    return 0


async def _drop(store: DeadLetterStore, letter_ids: list[int], out: TextIO) -> int:
    dropped = await store.drop(letter_ids)
    out.write(f"Dropped {dropped} of {len(letter_ids)}.\n")
    return 0 if dropped == len(letter_ids) else 2


def _missing(letter_id: int) -> int:
    sys.stderr.write(f"There is no dead letter {letter_id}; `okno dlq list` shows them.\n")
    return 2


def _line(reason: str) -> str:
    text = " ".join(reason.split())
    return text if len(text) <= 90 else text[:89] + "…"
