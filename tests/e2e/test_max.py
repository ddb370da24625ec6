"""A citizen in MAX: Okno's MAX channel against the fake MAX Bot API, by long polling and by webhook."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from bots.settings import Settings
from dialog.engine import ConversationEngine
from tests.e2e.conftest import free_port, running
from tests.e2e.test_process import start
from tests.fakes.max_api import FakeMax

USER = 4101
SECRET = "okno-max-secret_1"
WAIT = 20.0  # seconds: generous, for a shared machine
T = TypeVar("T")


@pytest.fixture
async def max_api() -> AsyncIterator[FakeMax]:
    async with FakeMax() as server:
        yield server


def max_settings(fake: FakeMax, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "max_token": fake.token,
        "max_api_url": fake.url,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}",
        "workers": 8,
        "web_chat": False,
        "web_inbox": False,
    }
    return Settings(**(values | overrides))


def webhook_settings(fake: FakeMax, tmp_path: Path, port: int) -> Settings:
    return max_settings(
        fake,
        tmp_path,
        max_mode="webhook",
        max_webhook_url=f"http://127.0.0.1:{port}/max/webhook",
        max_webhook_secret=SECRET,
        web_port=port,
    )


async def polling(fake: FakeMax) -> None:
    await fake.wait_for(lambda f: bool(f.calls_of("GET /updates")), WAIT)


def texts(fake: FakeMax, user: int = USER) -> list[str]:
    return [str(sent["text"] or "") for sent in fake.sent_to(user)]


def button(fake: FakeMax, label: str, user: int = USER) -> str:
    rows = fake.sent_to(user)[-1]["keyboard"] or []
    found = [b["payload"] for row in rows for b in row if b["text"] == label]
    assert found, f"no button {label!r} in {rows}"
    return str(found[0])


async def says(fake: FakeMax, text: str, expect: str, user: int = USER) -> str:
    before = len(texts(fake, user))
    fake.user_message(user, text)
    await fake.wait_for(lambda f: any(expect in t for t in texts(f, user)[before:]), WAIT)
    return next(t for t in texts(fake, user)[before:] if expect in t)


async def test_a_conversation_with_buttons(
    max_api: FakeMax, tmp_path: Path, engine: ConversationEngine
) -> None:
    async with running(max_settings(max_api, tmp_path), engine):
        await polling(max_api)
        max_api.bot_started(USER)
        await max_api.wait_for(lambda f: len(texts(f)) == 1, WAIT)
        assert "Здравствуйте" in texts(max_api)[0]
        menu = max_api.sent_to(USER)[-1]
        assert menu["format"] is None
        assert all(b["type"] == "callback" for row in menu["keyboard"] for b in row)
        max_api.press(USER, menu["mid"], button(max_api, "Регистрация и вход"))
        await max_api.wait_for(lambda f: len(texts(f)) == 2, WAIT)
        await max_api.wait_for(lambda f: len(f.answers) == 1, WAIT)  # the button stopped waiting
        assert max_api.answers[0]["message"] == {"text": menu["text"]}  # the pressed menu kept as it was
        section = max_api.sent_to(USER)[-1]
        max_api.press(USER, section["mid"], button(max_api, "Восстановление пароля и доступа"))
        await max_api.wait_for(lambda f: len(texts(f)) == 3, WAIT)
        assert "парол" in texts(max_api)[2].lower() and texts(max_api)[2].endswith("Помог ли ответ?")
        # the citizen edits a message: told that edits are not followed
        question = max_api.user_message(USER, "как восстановить пароль")
        await max_api.wait_for(lambda f: len(texts(f)) == 4, WAIT)
        max_api.edit_message(question, "как восстановить логин")
        await max_api.wait_for(lambda f: any("изменили сообщение" in t for t in texts(f)), WAIT)
    assert max_api.too_many == 0, "30 requests a second, paced: MAX never said too many"


async def test_marks_and_quotes_reach_the_citizen_as_written(
    max_api: FakeMax, tmp_path: Path, engine: ConversationEngine
) -> None:
    async with running(max_settings(max_api, tmp_path), engine) as runtime:
        await polling(max_api)
        await says(max_api, "привет", "")
        assert runtime.max is not None
        text = "Шаг *1*: нажмите <Войти> и [Далее] — _не_ `закрывайте` окно & ждите"
        await runtime.max.send(str(USER), text, ())
    assert max_api.sent_to(USER)[-1]["text"] == text and max_api.sent_to(USER)[-1]["format"] is None


async def test_a_restart_goes_on_from_the_saved_marker(
    max_api: FakeMax, tmp_path: Path, engine: ConversationEngine
) -> None:
    settings = max_settings(max_api, tmp_path)
    async with running(settings, engine):
        await polling(max_api)
        await says(max_api, "как восстановить пароль", "Помог ли ответ?")
    polls = len(max_api.calls_of("GET /updates"))
    max_api.user_message(USER, "спасибо")  # written while Okno was down
    async with running(settings, engine):
        await max_api.wait_for(lambda f: len(texts(f)) == 2, WAIT)
        later = max_api.calls_of("GET /updates")[polls:]
        assert later and later[0].query.get("marker"), "the first poll after the restart gives the marker"
        await says(max_api, "как восстановить пароль", "Помог ли ответ?")
    assert len(texts(max_api)) == 3  # nothing answered twice


async def test_too_many_requests_server_errors_and_proxy_pages_lose_and_double_nothing(
    max_api: FakeMax, tmp_path: Path, engine: ConversationEngine
) -> None:
    max_api.fail_next("POST /messages", 429, times=2)
    max_api.fail_next("POST /messages", 500)
    max_api.fail_next("POST /messages", 502, html=True)
    max_api.fail_next("GET /updates", 503, html=True)
    max_api.fail_next("GET /me", 502, html=True)  # MAX away at start: Okno starts all the same
    async with running(max_settings(max_api, tmp_path), engine):
        await polling(max_api)
        for i, text in enumerate(["привет", "как восстановить пароль", "спасибо"]):
            max_api.user_message(USER + i, text)
        await max_api.wait_for(lambda f: all(len(texts(f, USER + i)) == 1 for i in range(3)), WAIT * 2)
    assert [len(texts(max_api, USER + i)) for i in range(3)] == [1, 1, 1]


async def test_a_citizen_who_stopped_the_bot_is_not_written_to_until_they_start_it_again(
    max_api: FakeMax, tmp_path: Path, engine: ConversationEngine
) -> None:
    async with running(max_settings(max_api, tmp_path), engine) as runtime:
        await polling(max_api)
        await says(max_api, "привет", "")
        chat = str(USER)
        max_api.stopped.add(USER)  # stopped while a question was on its way: the answer is refused
        max_api.user_message(USER, "как восстановить пароль")
        await _wait_blocked(runtime, chat, True)
        max_api.bot_stopped(USER)  # then MAX's update about it
        max_api.bot_started(USER)  # and back: greeted again
        await max_api.wait_for(lambda f: any("Здравствуйте" in t for t in texts(f)[1:]), WAIT)
        await _wait_blocked(runtime, chat, False)
    refused = [c for c in max_api.calls_of("POST /messages") if c.status == 403]
    assert len(refused) == 1, "a stopped chat is not written to again and again"


async def _wait_blocked(runtime: Any, chat: str, blocked: bool) -> None:
    async def as_expected() -> bool:
        return bool(await runtime.repository.is_blocked("max", chat)) is blocked

    await eventually(as_expected, f"the chat marked blocked={blocked}")


async def eventually(check: Callable[[], Awaitable[T]], what: str) -> T:
    """What `check` gives once it is something, asked every 20 ms for up to WAIT seconds."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not (found := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)
    return found


async def test_odd_and_unknown_updates_are_ignored_and_the_next_message_answered(
    max_api: FakeMax, tmp_path: Path, engine: ConversationEngine
) -> None:
    async with running(max_settings(max_api, tmp_path), engine):
        await polling(max_api)
        max_api.raw_update({"update_type": "message_created", "timestamp": 1, "message": {"body": None}})
        max_api.raw_update({"update_type": "message_created", "message": "not an object"})
        max_api.raw_update({"update_type": "message_callback", "callback": {"callback_id": "x"}})
        max_api.user_message(USER, "", attachments=[max_api.sticker_attachment()])
        await says(max_api, "как восстановить пароль", "Помог ли ответ?")


async def test_webhook_mode_subscribes_checks_the_secret_and_handles_a_redelivery_once(
    max_api: FakeMax, tmp_path: Path, engine: ConversationEngine
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/max/webhook"
    async with running(webhook_settings(max_api, tmp_path, port), engine):
        await max_api.wait_for(lambda f: url in f.subscriptions, WAIT)
        max_api.user_message(USER, "как восстановить пароль")
        await max_api.wait_for(lambda f: len(texts(f)) == 1, WAIT)
        update = max_api.deliveries[-1].update
        again = await max_api.deliver(update)  # MAX posts it again: its 200 was lost on the way
        assert again.status == 200
        forged = dict(update, message=dict(update["message"], body={"mid": "mid.forged", "text": "привет"}))
        wrong = await max_api.deliver(forged, secret="not-the-secret")
        assert wrong.status == 403
        assert (await max_api.deliver(forged, secret="")).status == 403
        async with aiohttp.ClientSession() as http:
            headers = {"X-Max-Bot-Api-Secret": SECRET, "Content-Type": "application/json"}
            async with http.post(url, data=b"{not json", headers=headers) as response:
                assert response.status == 400
        await says(max_api, "спасибо", "")
    assert len(texts(max_api)) == 2, "the redelivered and the forged update were not answered"
    assert not max_api.calls_of("GET /updates"), "no long polling in webhook mode"


async def test_long_polling_removes_a_webhook_left_from_webhook_mode(
    max_api: FakeMax, tmp_path: Path, engine: ConversationEngine
) -> None:
    port = free_port()
    async with running(webhook_settings(max_api, tmp_path, port), engine):
        await max_api.wait_for(lambda f: bool(f.subscriptions), WAIT)
    async with running(max_settings(max_api, tmp_path), engine):
        await polling(max_api)
        assert not max_api.subscriptions
        await says(max_api, "как восстановить пароль", "Помог ли ответ?")


def max_process_env(fake: FakeMax, tmp_path: Path, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKNO_")}
    return env | {
        "OKNO_MAX_TOKEN": token,
        "OKNO_MAX_API_URL": fake.url,
        "OKNO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}",
        "OKNO_WEB_CHAT": "false",
        "OKNO_WEB_INBOX": "false",
    }


async def test_okno_run_with_only_a_max_token_serves_max(max_api: FakeMax, tmp_path: Path) -> None:
    process = await start(max_process_env(max_api, tmp_path, max_api.token), tmp_path)
    try:
        await polling(max_api)
        await says(max_api, "как восстановить пароль", "Помог ли ответ?")
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), WAIT)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, stderr.decode()


async def test_a_rejected_max_token_stops_with_one_clear_message(max_api: FakeMax, tmp_path: Path) -> None:
    process = await start(max_process_env(max_api, tmp_path, "not-the-token"), tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 2
    assert "OKNO_MAX_TOKEN" in stderr.decode() and "Traceback" not in stderr.decode()


async def test_a_reply_max_refuses_for_good_goes_to_the_dead_letters_and_the_chat_goes_on(
    max_api: FakeMax, tmp_path: Path, engine: ConversationEngine
) -> None:
    refusal = {"code": "proto.payload", "message": "Invalid request"}
    max_api.fail_next("POST /messages", 400, body=refusal)
    async with running(max_settings(max_api, tmp_path), engine) as runtime:
        await polling(max_api)
        max_api.user_message(USER, "привет")
        deadline = asyncio.get_running_loop().time() + WAIT
        while not (letters := await runtime.repository.dead_letters.letters()):
            assert asyncio.get_running_loop().time() < deadline, (
                "the refused reply is not in the dead letters"
            )
            await asyncio.sleep(0.02)
        assert (
            letters[0].kind == "reply"
            and letters[0].channel == "max"
            and "proto.payload" in letters[0].reason
        )
        await says(max_api, "как восстановить пароль", "Помог ли ответ?")
    assert len(max_api.calls_of("POST /messages")) == 2  # the refused one was not tried again
