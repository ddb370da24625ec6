"""The Telegram group and the web inbox are two views of the same tickets: an action in one shows in the
other, and taking stays race-safe across both."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any
from urllib.parse import unquote

import aiohttp

from dialog.engine import ConversationEngine
from handoff.accounts import Role, hash_password
from tests.e2e.conftest import Backend, free_port, running
from tests.e2e.desk_helpers import ANNA, CHAT, DESK, Clock, desk_settings, open_ticket, press, to_citizen
from tests.fakes.telegram_api import FakeTelegram

PASSWORD = "пароль-для-веба"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def web_settings(fake: FakeTelegram, backend: Backend) -> Any:
    return desk_settings(
        fake,
        backend,
        web_inbox=True,
        web_chat=True,
        web_port=free_port(),
        web_secret="two-views",
        web_chat_rate_per_second=50,  # a test types faster than a citizen
    )


async def signed_in(url: str, login: str) -> tuple[aiohttp.ClientSession, str]:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(f"{url}/inbox/login", data={"login": login, "password": PASSWORD}) as answer:
        page = await answer.text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page[:500]
    return session, found.group(1)


async def ticket_page(session: aiohttp.ClientSession, url: str, ticket_id: int) -> str:
    async with session.get(f"{url}/inbox/ticket/{ticket_id}?fragment=1") as answer:
        return await answer.text()


async def flash_of(session: aiohttp.ClientSession, url: str, path: str, data: dict[str, Any]) -> str:
    async with session.post(f"{url}{path}", data=data, allow_redirects=False) as answer:
        assert answer.status == 303
        return unquote(answer.cookies["okno_flash"].value) if "okno_flash" in answer.cookies else ""


async def test_telegram_and_the_web_inbox_work_the_same_ticket(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = web_settings(fake, backend)
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime:
        assert runtime.web_store is not None
        await runtime.web_store.add_account("boris", "Борис", Role.OPERATOR.value, hash_password(PASSWORD))
        ticket = await open_ticket(fake, runtime)
        web, csrf = await signed_in(url, "boris")
        async with web:
            assert "новое" in await ticket_page(web, url, ticket.id)
            await press(fake, ticket.card_message_id, "Взять", ANNA)  # taken in Telegram...
            for _ in range(200):  # ...shows in the web inbox
                if "в работе" in await ticket_page(web, url, ticket.id):
                    break
                await asyncio.sleep(0.02)
            page = await ticket_page(web, url, ticket.id)
            assert "в работе" in page and 'data-action="take"' not in page
            # a web operator on a page that still showed «Взять» loses the race, and is told who won
            flash = await flash_of(web, url, f"/inbox/ticket/{ticket.id}/take", {"csrf": csrf})
            assert "уже взял" in flash and str(ANNA) in flash  # the fake names Telegram users by id

            # a web reply reaches the Telegram citizen, and its note and text show in the topic's card
            data = aiohttp.FormData()
            data.add_field("csrf", csrf)
            data.add_field("text", "Ответ из веб-операторской")
            await flash_of(web, url, f"/inbox/ticket/{ticket.id}/reply", data)  # type: ignore[arg-type]
            await fake.wait_for(lambda f: "Ответ из веб-операторской" in " ".join(to_citizen(f)))
            # a note written in the Telegram topic shows on the web page
            fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "!позвонить в МФЦ")
            for _ in range(200):
                if "позвонить в МФЦ" in await ticket_page(web, url, ticket.id):
                    break
                await asyncio.sleep(0.02)
            assert "позвонить в МФЦ" in await ticket_page(web, url, ticket.id)
            # resolved on the web: the Telegram card and topic follow
            await flash_of(web, url, f"/inbox/ticket/{ticket.id}/resolve", {"csrf": csrf})
            await fake.wait_for(lambda f: f.topics[ticket.thread_id].get("is_closed") is True)
    assert any("решённое" in t for t in to_citizen(fake, CHAT))
    assert "позвонить в МФЦ" not in " ".join(to_citizen(fake, CHAT))  # a note never reaches the citizen


async def test_a_web_citizens_photo_reaches_the_operators_topic(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = web_settings(fake, backend)
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()), aiohttp.ClientSession() as client:
        await listening(client, url)
        socket = await client.ws_connect(f"{url}/chat/ws")
        await socket.send_json({"type": "hello", "visitor": None})
        token = (await socket.receive_json())["visitor"]
        await chat_until(socket, "позовите оператора", "фамилию")
        steps = (("Сидоров Пётр Ильич", "СНИЛС"), ("пропустить", "телефон"), ("пропустить", "заявления"))
        for answer, expect in steps:
            await chat_until(socket, answer, expect)
        await chat_until(socket, "пропустить", "одним-двумя")
        await chat_until(socket, "не грузится страница оплаты", "Ваше обращение №")
        form = aiohttp.FormData()
        form.add_field("file", PNG, filename="screen.png", content_type="image/png")
        async with client.post(f"{url}/chat/files", data=form, headers={"X-Okno-Visitor": token}) as answer:
            ref = (await answer.json())["ref"]
        await socket.send_json({"type": "file", "id": "f1", "ref": ref, "name": "screen.png", "text": ""})
        await fake.wait_for(
            lambda f: any(
                c.params.get("chat_id") == DESK and c.status == 200 for c in f.calls_of("sendPhoto")
            )
        )
        await socket.close()


async def listening(client: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with client.get(f"{url}/healthz") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.02)
    raise AssertionError("the web server did not start")


async def chat_until(socket: aiohttp.ClientWebSocketResponse, text: str, expect: str) -> None:
    await socket.send_json({"type": "message", "id": f"m-{text[:20]}-{expect}", "text": text})
    async with asyncio.timeout(10):
        while True:
            frame = await socket.receive_json()
            if frame.get("type") == "message" and expect in frame.get("text", ""):
                return
