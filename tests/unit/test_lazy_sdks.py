"""A messenger's SDK loads only when its channel is configured: importing aiogram alone costs seconds
of CPU and tens of MB, which the embedded default with no token must not pay."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def in_fresh_interpreter(script: str, *args: str) -> Any:
    """What `script` printed last as JSON, run in a new Python with no OKNO_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_token_loads_no_messenger_sdk(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}"
    assert in_fresh_interpreter(SCRIPT, database) == []


# aiogram as the Telegram adapter imports it: its models deferred, then every one of them built
DEFERRED_MODELS = """
import json, sys
import adapters.telegram
from aiogram.types import CallbackQuery, Message, Update
from pydantic import BaseModel
from pydantic._internal._mock_val_ser import MockValSer

deferred_at_import = not Message.__pydantic_complete__
update = Update.model_validate({"update_id": 1, "callback_query": {
    "id": "7", "from": {"id": 5, "is_bot": False, "first_name": "Анна"}, "chat_instance": "c",
    "data": "topic:1", "message": {"message_id": 3, "date": 1700000000,
    "chat": {"id": 5, "type": "private"}, "text": "Меню", "reply_to_message": {
    "message_id": 2, "date": 1700000000, "chat": {"id": 5, "type": "private"}, "text": "Привет"}}}})
assert isinstance(update.callback_query, CallbackQuery)
assert update.callback_query.message.reply_to_message.text == "Привет"

models = [m for m in BaseModel.__subclasses__()]
seen, failed = set(), []
while models:
    model = models.pop()
    if model in seen:
        continue
    seen.add(model)
    models.extend(model.__subclasses__())
    if model.__module__.startswith("aiogram.") and not model.__pydantic_complete__:
        if model.model_rebuild(raise_errors=False) is False or isinstance(
            model.__dict__.get("__pydantic_validator__"), MockValSer
        ):
            failed.append(model.__name__)
print(json.dumps({"deferred": deferred_at_import, "built": len(seen), "failed": failed}))
"""


def test_telegram_models_are_deferred_and_each_builds_when_used() -> None:
    """A model pydantic could not build on first use would fail the update that carries it."""
    result = in_fresh_interpreter(DEFERRED_MODELS)
    assert result["deferred"] is True
    assert result["failed"] == []
    assert result["built"] > 300
