"""The fault suite's longer run: `okno run` as a process with 100 chats and several rounds around
each fault (Bot API 429 / 500 / HTML 502, hangs, the API gone, poison updates, a PostgreSQL restart,
Redis lost, kill -9, SIGTERM with a backlog), on PostgreSQL + Redis of its own and on SQLite + memory;
then by webhook, with updates posted twice and posted into a killed process.

Prints one table per backend: sent, answered once, lost, doubled, out of order, recovery time.
Targets (issue 13): 0 lost, 0 out of order, 0 process exits, doubles only from sends in flight at a
kill. Run with `.venv/bin/python benchmarks/faults.py [--chats 100] [--rounds 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.faults.drive import Run, run_faults, run_webhook_faults  # noqa: E402

logger = logging.getLogger("okno.benchmarks.faults")


async def main(chats: int, rounds: int, backends: list[str]) -> int:
    failed = 0
    for backend in [*backends, "webhook"]:
        logger.info("%s: %d chats, %d rounds around each fault …", backend, chats, rounds)
        with tempfile.TemporaryDirectory(prefix="okno-faults-") as workdir:
            async with FakeTelegram() as fake:
                run = await one_run(fake, Path(workdir), backend, list(range(8001, 8001 + chats)), rounds)
        logger.info("\n%s", run.report())
        final = run.final
        if final.lost or final.out_of_order:
            logger.error("%s: %d lost, %d out of order", backend, final.lost, final.out_of_order)
            failed += 1
    return 1 if failed else 0


async def one_run(fake: FakeTelegram, workdir: Path, backend: str, chats: list[int], rounds: int) -> Run:
    if backend == "webhook":
        return await run_webhook_faults(fake, workdir, chats, rounds)
    return await run_faults(fake, workdir, backend, chats, rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", action="append", choices=["postgresql+redis", "sqlite+memory"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    backends = args.backend or ["postgresql+redis", "sqlite+memory"]
    sys.exit(asyncio.run(main(args.chats, args.rounds, backends)))
