"""`okno run` as a real process: start, serve, stop on SIGTERM, and say clearly what is wrong."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.e2e.test_telegram import sent
from tests.fakes.telegram_api import FakeTelegram

OKNO = str(Path(sys.executable).parent / "okno")
CHAT = 918_273_645  # distinctive, so finding it in the logs cannot be a coincidence of timestamps


def environment(fake: FakeTelegram, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")}
    env |= {
        "OKNO_TELEGRAM_TOKEN": fake.token,
        "OKNO_TELEGRAM_API_URL": fake.url,
        "OKNO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}",
        "OKNO_TELEGRAM_CHAT_RATE_PER_SECOND": "0",
        "OKNO_LOG_LEVEL": "INFO",
        "OKNO_WEB_CHAT": "false",
        "OKNO_WEB_INBOX": "false",
    }
    return env | extra


async def start(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        OKNO,
        "run",
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_sigterm_finishes_what_was_received_and_logs_no_citizen_data(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    process = await start(environment(fake, tmp_path), tmp_path)
    try:
        fake.message_update(CHAT, "привет")
        await fake.wait_for(lambda f: len(sent(f, CHAT)) == 1, timeout=20)
        update_id = fake.message_update(CHAT, "забыл пароль от учётки")["update_id"]
        await fake.wait_for(
            lambda f: any(int(c.params.get("offset", 0)) > update_id for c in f.calls_of("getUpdates"))
        )
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, stderr.decode()
    assert len(sent(fake, CHAT)) == 2  # the greeting, then the answer that was received before SIGTERM
    logs = stderr.decode()
    assert "stopped" in logs
    assert "забыл пароль" not in logs and str(CHAT) not in logs and "Иван" not in logs


async def test_a_rejected_token_stops_with_one_clear_message(fake: FakeTelegram, tmp_path: Path) -> None:
    env = environment(fake, tmp_path, OKNO_TELEGRAM_TOKEN="999:wrong")
    process = await start(env, tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert "OKNO_TELEGRAM_TOKEN" in stderr.decode()
    assert "Traceback" not in stderr.decode()


async def test_webhook_mode_without_its_settings_stops_before_starting(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    process = await start(environment(fake, tmp_path, OKNO_TELEGRAM_MODE="webhook"), tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert "OKNO_TELEGRAM_WEBHOOK_URL" in stderr.decode() and "Traceback" not in stderr.decode()
    assert fake.calls == []


async def test_no_token_starts_the_terminal_chat_and_says_how_to_add_one(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    env = {k: v for k, v in environment(fake, tmp_path).items() if k != "OKNO_TELEGRAM_TOKEN"}
    process = await start(env, tmp_path)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert "OKNO_TELEGRAM_TOKEN" in stderr.decode()
    assert "Здравствуйте" in stdout.decode()


async def test_a_second_process_on_the_embedded_default_stops_with_one_clear_message(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Two processes on one SQLite file would both poll Telegram and both work the same queue."""
    first = await start(environment(fake, tmp_path), tmp_path)
    try:
        fake.message_update(CHAT, "привет")
        await fake.wait_for(lambda f: len(sent(f, CHAT)) == 1, timeout=20)  # the first one runs
        second = await start(environment(fake, tmp_path), tmp_path)
        _, stderr = await asyncio.wait_for(second.communicate(), 60)
        assert first.returncode is None  # the first one goes on
    finally:
        if first.returncode is None:
            first.send_signal(signal.SIGTERM)
            await asyncio.wait_for(first.communicate(), 30)
    assert second.returncode == 2
    message = stderr.decode()
    assert f"pid {first.pid}" in message and "PostgreSQL" in message and "Traceback" not in message
