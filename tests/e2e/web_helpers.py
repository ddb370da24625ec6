"""The web chat over a real socket, for the tests: Okno in-process, a visitor as aiohttp's client."""

from __future__ import annotations

import asyncio
import contextlib
import html
import io
import itertools
import json
import re
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from adapters.web.server import (
    TOO_FAST,
    chat_id_of,
)
from bots.settings import Settings
from bots.wiring import Runtime
from dialog.engine import ConversationEngine
from dialog.tickets import Ticket
from handoff.accounts import hash_password
from storage.web import HistoryItem
from tests.e2e.conftest import free_port, running

# Ceilings on waits for what the server will do: generous, since a busy CI machine can be slow and
# a wait that succeeds ends as soon as its frame comes.
PATIENCE = 60.0
TICKET = re.compile(r"№ (\d{5}-\d)")
GREETING = "Здравствуйте"
QUESTIONS = (
    "как восстановить пароль",
    "как сменить номер телефона в профиле",
    "как удалить учетную запись",
    "как узнать статус заявления",
    "как подтвердить учетную запись",
    "как войти по электронной подписи",
    "как привязать снилс",
    "как изменить адрес электронной почты",
)
Frame = dict[str, Any]


@dataclass
class Site:
    url: str
    runtime: Runtime
    http: aiohttp.ClientSession


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, engine: ConversationEngine, **overrides: Any) -> AsyncIterator[Site]:
    """Okno with its web chat and inbox on a free port, up and answering, until the block ends."""
    port = free_port()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}",
        web_port=port,
        web_secret="web-test-secret",
        workers=8,
        **overrides,
    )
    url = f"http://127.0.0.1:{port}"
    async with running(settings, engine) as runtime, aiohttp.ClientSession() as http:
        await listening(http, url)
        yield Site(url, runtime, http)


async def listening(http: aiohttp.ClientSession, url: str) -> None:
    """Wait until Okno's web server answers (it starts a moment after the runtime)."""
    async with asyncio.timeout(PATIENCE):
        while True:
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)


def from_people(frame: Frame) -> bool:
    return frame["type"] == "message" and frame["from"] in ("bot", "operator")


class Citizen:
    """A visitor on the chat socket; every frame the server sends is kept in order."""

    _ids = itertools.count(1)

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url = http, url
        self.frames: list[Frame] = []
        self.welcome: Frame = {}
        self.token = ""
        self._arrived = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def chat_id(self) -> str:
        return chat_id_of(self.token)

    async def connect(self, token: str | None = None) -> Frame:
        self._ws = await self.http.ws_connect(f"{self.url}/chat/ws")
        self._reader = asyncio.create_task(self._read(self._ws))
        after = len(self.frames)
        await self.send({"type": "hello", "visitor": token})
        _, self.welcome = await self.wait(lambda f: f["type"] == "welcome", after)
        self.token = self.welcome["visitor"]
        return self.welcome

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                self.frames.append(json.loads(message.data))
                self._arrived.set()

    async def send(self, frame: Frame) -> None:
        assert self._ws is not None
        await self._ws.send_json(frame)

    async def send_raw(self, data: str) -> None:
        assert self._ws is not None
        await self._ws.send_str(data)

    async def say(self, text: str, client_id: str | None = None) -> str:
        client_id = client_id or f"c{next(self._ids)}"
        await self.send({"type": "message", "id": client_id, "text": text})
        return client_id

    async def send_file(self, ref: str) -> str:
        client_id = f"f{next(self._ids)}"
        await self.send({"type": "file", "id": client_id, "ref": ref})
        return client_id

    async def wait(
        self, match: Callable[[Frame], bool], after: int = 0, timeout: float = PATIENCE
    ) -> tuple[int, Frame]:
        """The first frame from index `after` on that matches, waiting for it to come."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for index in range(after, len(self.frames)):
                        if match(self.frames[index]):
                            return index, self.frames[index]
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            pytest.fail(f"no expected frame after #{after}; the socket got {self.frames}")

    async def reply(self, after: int, containing: str = "") -> tuple[int, Frame]:
        return await self.wait(lambda f: from_people(f) and containing in f["text"], after)

    async def ack(self, client_id: str, after: int = 0) -> None:
        await self.wait(lambda f: f["type"] == "ack" and f["id"] == client_id, after)

    async def error(self, client_id: str | None, after: int = 0) -> str:
        _, frame = await self.wait(lambda f: f["type"] == "error" and f["id"] == client_id, after)
        return str(frame["text"])

    async def deliver(self, frame: Frame) -> None:
        """Send a frame until it is acknowledged, waiting out the per-socket rate as the page would."""
        for _ in range(5):
            after = len(self.frames)
            await self.send(frame)
            _, verdict = await self.wait(
                lambda f: f["type"] in ("ack", "error") and f["id"] == frame["id"], after
            )
            if verdict["type"] == "ack":
                return
            assert verdict["text"] == TOO_FAST, verdict
            await asyncio.sleep(1.1)
        pytest.fail(f"the frame {frame} was never accepted")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await self._reader


@contextlib.asynccontextmanager
async def citizen(site: Site, token: str | None = None) -> AsyncIterator[Citizen]:
    visitor = Citizen(site.http, site.url)
    await visitor.connect(token)
    try:
        yield visitor
    finally:
        await visitor.close()


async def open_ticket(visitor: Citizen, trigger: str = "позовите оператора", name: str = "") -> str:
    """Ask for a person, give the name (if any), skip every other question; the ticket's number."""
    after = len(visitor.frames)
    await visitor.deliver({"type": "message", "id": f"t{next(Citizen._ids)}", "text": trigger})
    while True:
        index, frame = await visitor.wait(
            lambda f: (
                from_people(f)
                and ("Ваше обращение №" in f["text"] or any(b["label"] == "Пропустить" for b in f["buttons"]))
            ),
            after,
            timeout=PATIENCE,
        )
        after = index + 1
        if "Ваше обращение №" in frame["text"]:
            found = TICKET.search(frame["text"])
            assert found is not None, frame
            return found.group(1)
        client_id = f"t{next(Citizen._ids)}"
        if name and "фамилию" in frame["text"]:
            await visitor.deliver({"type": "message", "id": client_id, "text": name})
        else:
            skip = next(b for b in frame["buttons"] if b["label"] == "Пропустить")
            await visitor.deliver(
                {"type": "press", "id": client_id, "button": skip["id"], "label": skip["label"]}
            )


def png(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def upload(
    site: Site, token: str | None, data: bytes, name: str = "photo.png", mime: str = "image/png"
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=name, content_type=mime)
    headers = {"X-Okno-Visitor": token} if token is not None else {}
    async with site.http.post(f"{site.url}/chat/files", data=form, headers=headers) as response:
        return response.status, await response.json()


async def settled_history(
    site: Site, chat_id: str, done: Callable[[list[HistoryItem]], bool]
) -> list[HistoryItem]:
    """The stored conversation once `done` holds for it (the inbox and outbox work on their own)."""
    assert site.runtime.web_store is not None
    items: list[HistoryItem] = []
    try:
        async with asyncio.timeout(PATIENCE):
            while not done(items := await site.runtime.web_store.history("web", chat_id, 500)):
                await asyncio.sleep(0.1)
    except TimeoutError:
        shown = [(i.direction, i.text[:60], i.attachments) for i in items]
        pytest.fail(f"the conversation never got there; it is {shown}")
    return items


def answered(items: list[HistoryItem], texts: list[str]) -> bool:
    """Every text came in and was followed by at least one reply."""
    for text in texts:
        position = next(
            (i for i, item in enumerate(items) if item.direction == "in" and item.text == text), None
        )
        if position is None or not any(item.direction == "out" for item in items[position + 1 :]):
            return False
    return True


# Frames the server refuses


async def photo_during_a_handoff(site: Site, visitor: Citizen) -> tuple[str, str, int]:
    """Open a ticket, then send a photo in it; the ticket's number, the file's ref, the frames before."""
    number = await open_ticket(visitor, name="Иванов Иван Иванович")
    _, stored = await upload(site, visitor.token, png(), "error.png")
    after = len(visitor.frames)
    await visitor.deliver({"type": "file", "id": "during-1", "ref": stored["ref"]})
    await settled_history(
        site, visitor.chat_id, lambda items: any(i.direction == "in" and i.attachments for i in items)
    )
    return number, stored["ref"], after


# The web inbox


@dataclass
class Operator:
    """A signed-in browser: its own cookie jar, and the CSRF token its pages carry."""

    http: aiohttp.ClientSession
    url: str
    csrf: str

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(f"{self.url}{path}", allow_redirects=False) as response:
            return response.status, await response.text()

    async def act(self, ticket: Ticket, action: str, **fields: str) -> str:
        """Post a ticket form as the page would (with this session's CSRF token unless given);
        the flash the page shows after the redirect."""
        form = {"csrf": self.csrf} | fields
        async with self.http.post(f"{self.url}/inbox/ticket/{ticket.id}/{action}", data=form) as response:
            assert response.status == 200
            return flash_of(await response.text())


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "the page has no CSRF field"
    return html.unescape(found.group(1))


def flash_of(page: str) -> str:
    found = re.search(r'<p class="flash" role="status">(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def card_of(page: str) -> str:
    found = re.search(r'<dl class="card">(.*?)</dl>', page, re.S)
    assert found is not None, "the page has no ticket card"
    return html.unescape(found.group(1))


async def sign_in(
    http: aiohttp.ClientSession, url: str, login: str, password: str, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    """Open the sign-in page (for its CSRF token and cookie) and post the form as a browser would."""
    async with http.get(f"{url}/inbox/login", headers=headers) as response:
        token = csrf_of(await response.text())
    form = {"login": login, "password": password, "csrf": token}
    async with http.post(f"{url}/inbox/login", data=form, headers=headers) as response:
        return response.status, await response.text()


async def login_token(http: aiohttp.ClientSession, url: str) -> str:
    """The sign-in form's CSRF token (its pre-session cookie lands in the jar)."""
    async with http.get(f"{url}/inbox/login") as response:
        return csrf_of(await response.text())


async def post_login(
    http: aiohttp.ClientSession, url: str, form: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, str]:
    async with http.post(f"{url}/inbox/login", data=form, headers=headers, allow_redirects=False) as response:
        return response.status, html.unescape(await response.text())


async def add_accounts(site: Site, accounts: dict[str, tuple[str, str]], password: str) -> None:
    """Accounts by login: (name, role), all with one password."""
    assert site.runtime.web_store is not None
    stored = hash_password(password)
    for login, (name, role) in accounts.items():
        await site.runtime.web_store.add_account(login, name, role, stored)


@contextlib.asynccontextmanager
async def operator(url: str, login: str, password: str) -> AsyncIterator[Operator]:
    """Signed in to the web inbox in a browser of its own (cookies kept even for an IP address)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, page = await sign_in(http, url, login, password)
        assert status == 200 and "Обращения" in page, page
        yield Operator(http, url, csrf_of(page))
