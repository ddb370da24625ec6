"""`okno privacy export / forget / purge / audit`: a citizen's personal data, as 152-ФЗ asks of an
operator of personal data. A citizen is named CHANNEL:ID, the channel and the id it knows them by
(telegram:12345, vk:67890, web:<chat id>), as `okno privacy audit` and the tickets show them."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError

from bots.database_cli import on_database
from bots.settings import Settings
from storage.privacy import parse_contact
from storage.privacy_store import PrivacyStore

NOBODY = "Nobody is stored as {who}. Check the channel and the id (CHANNEL:ID, e.g. telegram:12345).\n"


def contact(text: str) -> tuple[str, str]:
    try:
        return parse_contact(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_privacy_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    privacy = sub.add_parser("privacy", help="a citizen's personal data: export, forget, purge, audit")
    commands = privacy.add_subparsers(dest="privacy_command", metavar="COMMAND")
    who = {"type": contact, "metavar": "CHANNEL:ID", "help": "the citizen, e.g. telegram:12345"}
    ex = commands.add_parser("export", help="everything stored about a citizen, as JSON (logged)")
    ex.add_argument("contact", **who)  # type: ignore[arg-type]
    ex.add_argument("--out", type=Path, metavar="FILE", help="write here instead of stdout")
    ex.add_argument("--with-files", action="store_true", help="include web-chat files' data (base64)")
    ex.add_argument("--actor", help="who asks, for the access log (default: the OS user)")
    forget = commands.add_parser("forget", help="anonymize a citizen: texts, identifiers, files")
    forget.add_argument("contact", **who)  # type: ignore[arg-type]
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.add_argument("--actor", help="who asks, for the access log (default: the OS user)")
    purge = commands.add_parser("purge", help="anonymize citizens with nothing new for the retention period")
    purge.add_argument("--days", type=float, help="the period (default: OKNO_RETENTION_DAYS)")
    purge.add_argument("--dry-run", action="store_true", help="only count them")
    audit = commands.add_parser("audit", help="who viewed, exported or erased whose data")
    audit.add_argument("--contact", **who)  # type: ignore[arg-type]
    audit.add_argument("--limit", type=int, default=100)


def cmd_privacy(args: argparse.Namespace, settings: Settings) -> int:
    actions: dict[str, Callable[[PrivacyStore], Awaitable[int]]] = {
        "export": lambda store: _export(store, args, sys.stdout),
        "forget": lambda store: _forget(store, args, sys.stdout),
        "purge": lambda store: _purge(store, args.days or settings.retention_days, args.dry_run, sys.stdout),
        "audit": lambda store: _audit(store, args.contact, args.limit, sys.stdout),
    }
    if args.privacy_command == "forget" and not (args.yes or _confirmed(args.contact)):
        sys.stderr.write("Nothing was changed.\n")
        return 1
    try:
        return on_database(settings, PrivacyStore, actions[args.privacy_command])
    except (OSError, SQLAlchemyError) as exc:
        sys.stderr.write(f"Cannot reach the database: {exc}\nCheck OKNO_DATABASE_URL.\n")
        return 2


def actor_of(args: argparse.Namespace) -> str:
    if args.actor:
        return str(args.actor)
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):  # no such user in this container's passwd
        return "os:unknown"


def _confirmed(who: tuple[str, str]) -> bool:
    if not sys.stdin.isatty():
        sys.stderr.write("Confirmation needs a terminal: run it again with --yes to anonymize.\n")
        return False
    answer = input(f"Anonymize everything stored about {who[0]}:{who[1]}? It cannot be undone. [y/N] ")
    return answer.strip().lower() in ("y", "yes", "д", "да")


async def _export(store: PrivacyStore, args: argparse.Namespace, out: TextIO) -> int:
    channel, external_id = args.contact
    data = await store.export(channel, external_id, actor_of(args), args.with_files)
    if data is None:
        sys.stderr.write(NOBODY.format(who=f"{channel}:{external_id}"))
        return 2
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.out is None:
        out.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        sys.stderr.write(f"Cannot write {args.out}: {exc}\nChoose another --out, or leave it for stdout.\n")
        return 1
    tickets, chats = len(data["tickets"]), len(data["conversations"])
    sys.stderr.write(f"Exported {chats} conversation(s) and {tickets} ticket(s) to {args.out}\n")
    return 0


async def _forget(store: PrivacyStore, args: argparse.Namespace, out: TextIO) -> int:
    channel, external_id = args.contact
    if not await store.forget(channel, external_id, actor_of(args)):
        sys.stderr.write(NOBODY.format(who=f"{channel}:{external_id}"))
        return 2
    out.write(f"{channel}:{external_id} is anonymized; counts, statuses and times are kept.\n")
    return 0


async def _purge(store: PrivacyStore, days: float, dry_run: bool, out: TextIO) -> int:
    if days <= 0:
        sys.stderr.write("No retention period: set OKNO_RETENTION_DAYS or pass --days N.\n")
        return 2
    if dry_run:
        stale = await store.stale(days)
        out.write(f"{len(stale)} citizen(s) have nothing newer than {days:g} days; nothing was changed.\n")
        return 0

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"anonymized {done} of {total}\n")

    count = await store.purge(days, progress)
    out.write(f"{count} citizen(s) with nothing newer than {days:g} days anonymized.\n")
    return 0


async def _audit(store: PrivacyStore, who: tuple[str, str] | None, limit: int, out: TextIO) -> int:
    channel, external_id = who if who is not None else (None, None)
    lines = await store.accesses(channel, external_id, limit)
    if not lines:
        out.write("Nobody viewed, exported or erased personal data yet.\n")
        return 0
    for line in lines:
        out.write(f"{line.at:%Y-%m-%d %H:%M:%S}  {line.action:<7} {line.actor:<24} {line.subject}\n")
    return 0
