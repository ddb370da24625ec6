"""`okno stats`: a report over tickets and messages of a period, as a table, CSV or JSON."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bots.settings import Settings
from handoff.stats import MOSCOW, WRITERS, build_report
from handoff.stats_plot import write_plot
from storage.stats import SchemaMissing, load_stats

log = logging.getLogger("okno.bots.stats")

DEFAULT_DAYS = 30


def add_stats_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stats = sub.add_parser(
        "stats",
        help="tickets, waits, CSAT and load over a period",
        description="A report over tickets opened and messages received in [--since, --until); "
        "times without an offset are Moscow time.",
    )
    stats.add_argument(
        "--since",
        type=moment,
        metavar="DATE",
        help=f"start: YYYY-MM-DD or ISO time (default: {DEFAULT_DAYS} days ago)",
    )
    stats.add_argument(
        "--until",
        type=moment,
        metavar="DATE",
        help="end, not included: a date means its midnight (default: now)",
    )
    stats.add_argument("--channel", metavar="NAME", help="only this channel, e.g. telegram")
    stats.add_argument(
        "--format",
        choices=sorted(WRITERS),
        default="table",
        help="table (default), csv rows of section,key,value, or one JSON object",
    )
    stats.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw load and waiting times")


def moment(text: str) -> datetime:
    """A date or an ISO date and time; without an offset it is Moscow time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not YYYY-MM-DD or an ISO date and time") from None
    return value.replace(tzinfo=MOSCOW) if value.tzinfo is None else value


def period(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = until or now
    return since or end - timedelta(days=DEFAULT_DAYS), end


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    since, until = period(args.since, args.until, datetime.now(MOSCOW).replace(microsecond=0))
    if since >= until:
        shown = [f"{m.astimezone(MOSCOW):%Y-%m-%d %H:%M}" for m in (since, until)]
        sys.stderr.write(f"--since ({shown[0]}) must be before --until ({shown[1]}), Moscow time.\n")
        return 2
    url = settings.database_url
    where = make_url(url).render_as_string(hide_password=True)
    try:
        data = asyncio.run(load_stats(url, since, until, args.channel))
    except SchemaMissing as exc:
        sys.stderr.write(f"No statistics to show: {exc} ({where}).\nRun `okno db upgrade` first.\n")
        return 2
    except (OSError, SQLAlchemyError) as exc:
        sys.stderr.write(f"Cannot read the database {where}: {exc}\n")
        return 2
    report = build_report(data)
    WRITERS[args.format](report, sys.stdout)
    if args.plot is not None:
        try:
            write_plot(report, args.plot)
        except OSError as exc:
            sys.stderr.write(f"Cannot write the plot {args.plot}: {exc}\n")
            return 1
        sys.stderr.write(f"The plot is in {args.plot}\n")
    return 0
