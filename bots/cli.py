"""The `okno` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from adapters.errors import BadToken, PermanentFailure
from bots.chat import run_chat
from bots.dlq_cli import add_dlq_parser, cmd_dlq
from bots.logs import setup_logging
from bots.operators_cli import add_operators_parser, cmd_operators
from bots.privacy_cli import add_privacy_parser, cmd_privacy
from bots.runner import serve
from bots.settings import Settings, SettingsError, load_settings
from bots.stats_cli import add_stats_parser, cmd_stats
from bots.tools import GATES, classify_lines, kb_calibrate, kb_check, run_eval
from bots.vectors_cli import build_vectors
from bots.wiring import build_classifier_from, build_engine
from dialog.errors import KnowledgeError
from handoff.errors import DeskMisconfigured
from storage.leases import AnotherProcess
from storage.migrate import upgrade


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="okno", description="Okno: a multichannel support bot for a government-services contact center."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run every channel whose credentials are set (a terminal chat if none)")
    sub.add_parser("chat", help="talk to the bot in this terminal")
    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", metavar="DB_COMMAND")
    db_sub.add_parser("upgrade", help="apply the database migrations (okno run does it too)")
    sub.add_parser("classify", help='JSON lines {"text": …} on stdin → one decision per line on stdout')
    kb = sub.add_parser("kb", help="knowledge-base tools")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    check = kb_sub.add_parser("check", help="validate the knowledge base against the topic contract")
    check.add_argument("--contract", type=Path, help="faq-topics.yaml (default: OKNO_CONTRACT_FILE)")
    calib = kb_sub.add_parser("calibrate", help="refit the confidence model by cross-validation")
    calib.add_argument("--folds", type=int, default=5)
    calib.add_argument(
        "--examples",
        type=Path,
        action="append",
        default=[],
        help="a labelled JSON-lines file to calibrate on as well (repeatable)",
    )
    vectors = kb_sub.add_parser("vectors", help="rebuild the word vectors (needs the [vectors] extra)")
    vectors.add_argument("--words", type=int, default=40_000, help="common Russian words to include")
    ev = sub.add_parser("eval", help="score the classifier on a labelled JSON-lines file")
    ev.add_argument("file", type=Path)
    ev.add_argument("--misses", action="store_true", help="list every message scored wrong")
    for flag in (*GATES.values(), "max_confidently_wrong"):
        ev.add_argument(
            "--" + flag.replace("_", "-"),
            type=_share,
            metavar="SHARE",
            help="fail unless the metric holds (0.9 or 90%%)",
        )
    add_stats_parser(sub)
    add_operators_parser(sub)
    add_dlq_parser(sub)
    add_privacy_parser(sub)
    return parser


def _share(value: str) -> float:
    number = float(value.rstrip("%"))
    return number / 100 if value.endswith("%") or number > 1 else number


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = COMMANDS.get((args.command, getattr(args, f"{args.command}_command", None)))
    if command is None:
        parser.print_help(sys.stdout)
        return 0 if args.command is None else 2
    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.log_format)
        return command(args, settings)
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\nFix the variables above (see .env.example) and start again.\n")
        return 2
    except KnowledgeError as exc:
        problems = "\n  - ".join(exc.problems)
        sys.stderr.write(
            f"The knowledge base cannot be loaded:\n  - {problems}\nRun `okno kb check` after fixing it.\n"
        )
        return 2


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.telegram_token is None and settings.vk_token is None and settings.max_token is None:
        if not (settings.web_chat or settings.web_inbox):
            sys.stderr.write(
                "No channel is configured, so here is the bot in this terminal.\n"
                "To serve Telegram, put OKNO_TELEGRAM_TOKEN=<token from @BotFather> into .env "
                "(see .env.example) and run `make run` again.\n"
            )
            return cmd_chat(args, settings)
        served = " and ".join(
            name for name, on in (("web chat", settings.web_chat), ("web inbox", settings.web_inbox)) if on
        )
        sys.stderr.write(
            f"No messenger token is set: Okno serves its {served}. For Telegram, VK or MAX "
            "put OKNO_TELEGRAM_TOKEN, OKNO_VK_TOKEN or OKNO_MAX_TOKEN into .env (see .env.example).\n"
        )
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(serve(settings))
    except* BadToken as group:
        failure = f"{first_of(group)}"
    except* (DeskMisconfigured, PermanentFailure, AnotherProcess) as group:
        failure = f"{first_of(group)}"
    except* (OSError, SQLAlchemyError) as group:
        failure = (
            f"Cannot reach a service Okno needs: {first_of(group)}\n"
            f"Check OKNO_DATABASE_URL ({safe_url(settings.database_url)}) and OKNO_REDIS_URL."
        )
    else:
        return 0
    sys.stderr.write(failure + "\n")
    return 2


def first_of(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first error itself, however deep the task groups nested it (the work runs in one of its own)."""
    found: BaseException = group
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    try:
        upgrade(settings.database_url)
    except (OSError, SQLAlchemyError) as exc:
        sys.stderr.write(f"Cannot migrate {safe_url(settings.database_url)}: {exc}\n")
        return 2
    sys.stdout.write(f"The database is at the newest schema: {safe_url(settings.database_url)}\n")
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    try:
        run_chat(build_engine(settings), input, sys.stdout)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
    return 0


def cmd_classify(args: argparse.Namespace, settings: Settings) -> int:
    return classify_lines(build_classifier_from(settings), sys.stdin, sys.stdout)


def cmd_kb_check(args: argparse.Namespace, settings: Settings) -> int:
    return kb_check(
        settings.knowledge_dir, args.contract or settings.contract_file, sys.stdout, settings.facts
    )


def cmd_kb_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    return kb_calibrate(build_classifier_from(settings), args.folds, args.examples, sys.stdout)


def cmd_kb_vectors(args: argparse.Namespace, settings: Settings) -> int:
    return build_vectors(settings.knowledge_dir, args.words, sys.stdout)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    gates = {flag: getattr(args, flag) for flag in (*GATES.values(), "max_confidently_wrong")}
    return run_eval(build_classifier_from(settings), args.file, gates, args.misses, sys.stdout)


COMMANDS: dict[tuple[str | None, str | None], Callable[[argparse.Namespace, Settings], int]] = {
    ("run", None): cmd_run,
    ("chat", None): cmd_chat,
    ("classify", None): cmd_classify,
    ("db", "upgrade"): cmd_db_upgrade,
    ("kb", "check"): cmd_kb_check,
    ("kb", "calibrate"): cmd_kb_calibrate,
    ("kb", "vectors"): cmd_kb_vectors,
    ("eval", None): cmd_eval,
    ("stats", None): cmd_stats,
    **{("operators", name): cmd_operators for name in ("add", "list", "disable", "enable", "passwd")},
    **{("dlq", name): cmd_dlq for name in ("list", "show", "retry", "drop")},
    **{("privacy", name): cmd_privacy for name in ("export", "forget", "purge", "audit")},
}


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux, macOS): the same asyncio, about a fifth faster here."""
    try:
        import uvloop  # noqa: PLC0415 - optional, and only the long-running process wants it
    except ImportError:
        return None
    return uvloop.new_event_loop


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def run() -> None:
    sys.exit(main())
