"""A citizen in VK: Okno's VK channel with the real vk-api against the fake VK API server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bots.settings import Settings
from dialog.engine import ConversationEngine
from tests.e2e.conftest import free_port, running
from tests.fakes.vk_api import FakeVk

PEER = 3101


@pytest.fixture
async def vk() -> AsyncIterator[FakeVk]:
    async with FakeVk() as server:
        yield server


def vk_settings(fake: FakeVk, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "vk_token": fake.token,
        "vk_group_id": fake.group_id,
        "vk_api_url": fake.url,
        "vk_rate_per_second": 0,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}",
        "workers": 8,
        "web_chat": False,
        "web_inbox": False,
    }
    return Settings(**(values | overrides))


async def polling(fake: FakeVk) -> None:
    """Okno asks the Long Poll server: events from now on reach it (as on VK, earlier ones do not)."""
    await fake.wait_for(lambda f: bool(f.calls_of("longpoll")))


def texts(fake: FakeVk, peer: int = PEER) -> list[str]:
    return [str(m.get("text", "")) for m in fake.sent(peer)]


def keyboard(fake: FakeVk, index: int = -1, peer: int = PEER) -> dict[str, Any]:
    markup = fake.sent(peer)[index].get("keyboard")
    return markup if isinstance(markup, dict) else json.loads(markup or "{}")


def button(markup: dict[str, Any], label: str) -> dict[str, Any]:
    found = [b["action"] for row in markup["buttons"] for b in row if b["action"]["label"] == label]
    assert found, f"no button {label!r}"
    return json.loads(found[0]["payload"])


async def test_a_conversation_with_callback_buttons(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with running(vk_settings(vk, tmp_path), engine):
        await polling(vk)
        vk.message_new(PEER, "Начать", payload={"command": "start"})
        await vk.wait_for(lambda f: len(texts(f)) == 1)
        menu = keyboard(vk)
        assert menu["inline"] is True and "Здравствуйте" in texts(vk)[0]
        vk.message_event(PEER, button(menu, "Регистрация и вход"))
        await vk.wait_for(lambda f: len(texts(f)) == 2)
        assert vk.event_answers, "the pressed button must stop spinning"
        vk.message_event(PEER, button(keyboard(vk), "Восстановление пароля и доступа"))
        await vk.wait_for(lambda f: len(texts(f)) == 3)
        assert "парол" in texts(vk)[2].lower() and texts(vk)[2].endswith("Помог ли ответ?")
    assert not (tmp_path / "vk_config.v2.json").exists()  # vk-api kept its config in memory


async def test_a_button_answer_refused_with_too_many_requests_is_sent_again(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine
) -> None:
    async with running(vk_settings(vk, tmp_path), engine):
        await polling(vk)
        vk.message_new(PEER, "Начать", payload={"command": "start"})
        await vk.wait_for(lambda f: len(texts(f)) == 1)
        vk.fail_next("messages.sendMessageEventAnswer", 6)  # «Too many requests per second»
        vk.message_event(PEER, button(keyboard(vk), "Регистрация и вход"))
        await vk.wait_for(lambda f: len(texts(f)) == 2)
        await vk.wait_for(lambda f: len(f.event_answers) == 1, timeout=30)  # the button stops spinning


async def test_text_buttons_for_apps_without_callback_buttons(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine
) -> None:
    old_app = {"button_actions": ["text"], "keyboard": True, "inline_keyboard": False, "lang_id": 0}
    async with running(vk_settings(vk, tmp_path), engine):
        await polling(vk)
        vk.message_new(PEER, "меню", client_info=old_app)
        await vk.wait_for(lambda f: len(texts(f)) == 1)
        menu = keyboard(vk)
        assert menu["inline"] is False
        assert all(b["action"]["type"] == "text" for row in menu["buttons"] for b in row)
        vk.message_new(
            PEER, "Регистрация и вход", payload=button(menu, "Регистрация и вход"), client_info=old_app
        )
        await vk.wait_for(lambda f: len(texts(f)) == 2)
    assert "Регистрация и вход" in texts(vk)[1]


async def test_rate_limit_errors_lose_and_double_nothing(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine
) -> None:
    vk.fail_next("messages.send", 6, count=3)
    async with running(vk_settings(vk, tmp_path), engine):
        await polling(vk)
        for i, text in enumerate(["привет", "как восстановить пароль", "спасибо"]):
            vk.message_new(PEER + i, text)
        await vk.wait_for(lambda f: all(len(texts(f, PEER + i)) == 1 for i in range(3)), timeout=15)
    attempts = [c for c in vk.calls_of("messages.send")]
    assert len(attempts) >= 6 and len(vk.sent()) == 3


@pytest.mark.parametrize("failed", [1, 2, 3])
async def test_long_poll_recovers_from_failed_answers(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine, failed: int
) -> None:
    vk.fail_longpoll(failed)
    async with running(vk_settings(vk, tmp_path), engine):
        servers = 1 if failed == 1 else 2  # failed 2 and 3 ask for a new key
        await vk.wait_for(lambda f: len(f.calls_of("groups.getLongPollServer")) == servers)
        await vk.wait_for(lambda f: len(f.calls_of("longpoll")) == 2)  # polling again after the failure
        vk.message_new(PEER, "привет")
        await vk.wait_for(lambda f: len(texts(f)) == 1, timeout=10)
    assert len(vk.calls_of("groups.getLongPollServer")) == (1 if failed == 1 else 2)


async def test_callback_api_confirms_checks_the_secret_and_handles_a_retry_once(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine
) -> None:
    port = free_port()
    settings = vk_settings(
        vk,
        tmp_path,
        vk_mode="callback",
        vk_confirmation="c0nf1rm",
        vk_callback_secret="s3cret",
        web_port=port,
    )
    url = f"http://127.0.0.1:{port}/vk/callback"
    async with running(settings, engine):
        for _ in range(100):  # until the web server listens
            try:
                confirmed = await vk.confirmation(url)
                break
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        assert confirmed == (200, "c0nf1rm")
        assert (await vk.confirmation(url, group_id=1))[0] == 403  # another community
        event = vk.message_new(PEER, "привет")
        assert (await vk.deliver_callback(url, event, "wrong"))[0] == 403
        assert await vk.deliver_callback(url, event, "s3cret") == (200, "ok")
        assert await vk.deliver_callback(url, event, "s3cret", retry=1) == (200, "ok")  # VK retried
        await vk.wait_for(lambda f: len(texts(f)) == 1)
        await asyncio.sleep(0.5)
    assert len(texts(vk)) == 1 and not vk.calls_of("longpoll")


async def test_long_poll_resumes_where_it_stopped_after_a_restart(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine
) -> None:
    settings = vk_settings(vk, tmp_path)
    async with running(settings, engine):
        await polling(vk)
        vk.message_new(PEER, "привет")
        await vk.wait_for(lambda f: len(texts(f)) == 1)
    vk.message_new(PEER + 1, "как восстановить пароль")  # written while Okno was down
    async with running(settings, engine):
        await vk.wait_for(lambda f: len(texts(f, PEER + 1)) == 1, timeout=10)
    assert len(texts(vk)) == 1  # the first message was not answered twice


async def test_a_reply_over_vks_limit_is_sent_in_parts(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine
) -> None:
    vk.set_message_limit(600)  # VK says «too long» (914) before our own 4096 split
    async with running(vk_settings(vk, tmp_path), engine):
        await polling(vk)
        vk.message_new(PEER, "как восстановить пароль")
        await vk.wait_for(lambda f: any(t.endswith("Помог ли ответ?") for t in texts(f)))
    parts = texts(vk)
    assert len(parts) >= 2 and all(len(p) <= 600 for p in parts)
    assert keyboard(vk)["buttons"] and not vk.sent(PEER)[0].get("keyboard")  # buttons on the last part


async def test_a_long_topic_list_is_paged_in_inline_keyboards(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine
) -> None:
    expected = [t.title for t in engine.knowledge.category_topics("contacts")]
    async with running(vk_settings(vk, tmp_path), engine):
        await polling(vk)
        vk.message_new(PEER, "меню")
        await vk.wait_for(lambda f: len(texts(f)) == 1)
        vk.message_event(PEER, button(keyboard(vk), "Связь с поддержкой"))  # twelve topics
        await vk.wait_for(lambda f: len(texts(f)) == 2)
        first = keyboard(vk)
        vk.message_event(PEER, button(first, "Ещё вопросы ›"))
        await vk.wait_for(lambda f: len(texts(f)) == 3)
        second = keyboard(vk)
    shown: list[str] = []
    for markup in (first, second):
        labels = [b["action"]["label"] for row in markup["buttons"] for b in row]
        assert markup["inline"] is True and len(labels) <= 10  # within VK's inline keyboard
        shown += [label for label in labels if label in expected]
    assert shown == expected and "страница 2 из 2" in texts(vk)[2]


async def test_under_load_sends_share_execute_requests_within_the_rate(
    vk: FakeVk, tmp_path: Path, engine: ConversationEngine
) -> None:
    async with running(vk_settings(vk, tmp_path, vk_rate_per_second=20), engine):
        await polling(vk)
        for i in range(60):
            vk.message_new(PEER + i, "привет")
        await vk.wait_for(lambda f: all(len(texts(f, PEER + i)) == 1 for i in range(60)), timeout=20)
    requests = sorted(c.at for c in vk.calls if c.method != "longpoll" and not c.via)
    assert vk.calls_of("execute") and len(requests) < 60  # many messages per request
    busiest = max(sum(1 for t in requests if start <= t < start + 1.0) for start in requests)
    assert busiest <= 21  # VK's 20 requests a second, evenly spaced
