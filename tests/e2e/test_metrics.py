"""/metrics tells what Okno did and what waits, in Prometheus's text format."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, free_port, make_settings, running
from tests.fakes.telegram_api import FakeTelegram

CHAT = 931


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(http: aiohttp.ClientSession, url: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            async with http.get(url) as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                return await response.text()
        except aiohttp.ClientConnectionError:
            assert time.monotonic() < deadline, "the web server did not start"
            await asyncio.sleep(0.05)


async def test_metrics_count_updates_replies_and_queues(
    fake: FakeTelegram, tmp_path: Path, engine: ConversationEngine
) -> None:
    port = free_port()
    backend = Backend(f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}", None, "okno:")
    settings = make_settings(fake, backend, web_chat=True, web_host="127.0.0.1", web_port=port)
    fake.fail_next("sendMessage", status=500)
    async with running(settings, engine), aiohttp.ClientSession() as http:
        fake.message_update(CHAT, "привет")
        await fake.wait_for(lambda f: len(f.sent_texts(CHAT)) == 1, timeout=60)
        # the reply is marked sent a moment after Telegram took it: wait for the outbox to settle
        deadline = time.monotonic() + 60
        while (found := samples(await scrape(http, f"http://127.0.0.1:{port}/metrics")))[
            ("okno_queue_depth", (("queue", "outbox"),))
        ] != 0:
            assert time.monotonic() < deadline, "the outbox never emptied"
            await asyncio.sleep(0.05)
    telegram = (("channel", "telegram"),)
    assert found[("okno_updates_received_total", telegram)] == 1
    assert found[("okno_updates_handled_total", (("channel", "telegram"), ("outcome", "smalltalk")))] == 1
    assert found[("okno_sends_total", (("channel", "telegram"), ("result", "sent")))] == 1
    assert found[("okno_sends_total", (("channel", "telegram"), ("result", "temporary_failure")))] == 1
    assert found[("okno_engine_seconds_count", ())] == 1
    assert found[("okno_queue_depth", (("queue", "inbox"),))] == 0
    assert found[("okno_queue_depth", (("queue", "outbox"),))] == 0
    assert found[("okno_dead_letters_kept", ())] == 0
