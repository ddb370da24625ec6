"""The `okno` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bots.chat import run_chat
from bots.logs import setup_logging
from bots.settings import Settings, SettingsError, load_settings
from bots.tools import GATES, classify_lines, kb_calibrate, kb_check, run_eval
from bots.wiring import build_classifier_from, build_engine
from dialog.errors import KnowledgeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="okno", description="Okno: a multichannel support bot for a government-services contact center."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("chat", help="talk to the bot in this terminal")
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
    return parser


def _share(value: str) -> float:
    number = float(value.rstrip("%"))
    return number / 100 if value.endswith("%") or number > 1 else number


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.log_format)
        return _dispatch(parser, args, settings)
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\nFix the variables above (see .env.example) and start again.\n")
        return 2
    except KnowledgeError as exc:
        sys.stderr.write(
            "The knowledge base cannot be loaded:\n  - "
            + "\n  - ".join(exc.problems)
            + "\nRun `okno kb check` after fixing it.\n"
        )
        return 2


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Settings) -> int:
    out = sys.stdout
    if args.command == "chat":
        try:
            run_chat(build_engine(settings), input, out)
        except KeyboardInterrupt:
            out.write("\n")
        return 0
    if args.command == "classify":
        return classify_lines(build_classifier_from(settings), sys.stdin, out)
    if args.command == "kb" and args.kb_command == "check":
        return kb_check(settings.knowledge_dir, args.contract or settings.contract_file, out)
    if args.command == "kb" and args.kb_command == "calibrate":
        return kb_calibrate(build_classifier_from(settings), args.folds, args.examples, out)
    if args.command == "eval":
        gates = {flag: getattr(args, flag) for flag in (*GATES.values(), "max_confidently_wrong")}
        return run_eval(build_classifier_from(settings), args.file, gates, args.misses, out)
    parser.print_help(out)
    return 0 if args.command is None else 2


def run() -> None:
    sys.exit(main())
