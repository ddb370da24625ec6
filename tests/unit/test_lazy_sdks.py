"""A messenger's SDK loads only when its channel is configured: importing aiogram alone costs seconds
of CPU and tens of MB, which the embedded default with no token must not pay."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# what `okno run` does up to serving, in a fresh interpreter: the CLI, the runtime, its web and work
SCRIPT = """
import json, sys
import bots.cli
from bots.runner import single_loops, web_served
from bots.settings import Settings
from bots.wiring import build_runtime

settings = Settings(_env_file=None, database_url=sys.argv[1])
runtime = build_runtime(settings)
assert sorted(runtime.channels) == ["web"], runtime.channels
assert web_served(runtime) and "telegram-polling" not in single_loops(runtime)
print(json.dumps(sorted(name for name in ("aiogram", "vk_api", "requests") if name in sys.modules)))
"""


def test_no_token_loads_no_messenger_sdk(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")}
    database = f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, database],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
