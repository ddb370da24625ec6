"""The outside review's requests against the chat, replayed: strangers' uploads, hello floods,
foreign pages' sockets, and the headers every response carries."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from dialog.engine import ConversationEngine
from storage.db import make_sessions
from storage.models import Conversation, InboxUpdate, WebFile
from storage.web import HistoryItem
from tests.e2e.web_helpers import PATIENCE, Site, citizen, png, serving, upload

BUSY_CLOSE = 4429


@pytest.fixture
async def site(tmp_path: Path, engine: ConversationEngine) -> AsyncIterator[Site]:
    async with serving(tmp_path, engine) as running_site:
        yield running_site


async def count(site: Site, model: type[Conversation] | type[WebFile] | type[InboxUpdate]) -> int:
    async with make_sessions(site.runtime.database)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def refused(site: Site, hello: dict[str, object]) -> tuple[int | None, list[dict[str, object]]]:
    """Open a socket, say hello; the close code if the server closes it, and the frames it sent."""
    frames: list[dict[str, object]] = []
    async with site.http.ws_connect(f"{site.url}/chat/ws") as ws:
        await ws.send_json(hello)
        async with asyncio.timeout(PATIENCE):
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    frames.append(json.loads(message.data))
                    if frames[-1]["type"] == "welcome":
                        return None, frames
        return ws.close_code, frames


# 1. Strangers' uploads


async def test_an_invented_visitor_cannot_upload(site: Site) -> None:
    status, answer = await upload(site, secrets.token_urlsafe(24), png())
    assert status == 403 and "файл" in answer["error"]
    assert await count(site, WebFile) == 0


async def test_a_visitors_uploads_are_limited_in_number(tmp_path: Path, engine: ConversationEngine) -> None:
    async with serving(tmp_path, engine, web_files_per_visitor_per_day=2) as site, citizen(site) as visitor:
        verdicts = [(await upload(site, visitor.token, png()))[0] for _ in range(3)]
        status, answer = await upload(site, visitor.token, png())
    assert verdicts == [200, 200, 429] and status == 429
    assert "Слишком много файлов" in answer["error"]


async def test_a_visitors_uploads_at_once_keep_to_the_count(
    tmp_path: Path, engine: ConversationEngine
) -> None:
    """Uploads racing each other are counted as they start, not once stored (the abuse benchmark
    stored 21 files against a quota of 20)."""
    async with serving(tmp_path, engine, web_files_per_visitor_per_day=3) as site, citizen(site) as visitor:
        verdicts = await asyncio.gather(*(upload(site, visitor.token, png()) for _ in range(8)))
        stored = await count(site, WebFile)
    assert sorted(status for status, _ in verdicts) == [200] * 3 + [429] * 5
    assert stored == 3


async def test_a_visitors_uploads_are_limited_in_bytes(tmp_path: Path, engine: ConversationEngine) -> None:
    image = png(40, 40)
    megabytes = (len(image) * 1.5) / 1024 / 1024  # one fits, two do not
    async with (
        serving(tmp_path, engine, web_file_mb_per_visitor_per_day=megabytes) as site,
        citizen(site) as visitor,
    ):
        verdicts = [(await upload(site, visitor.token, image))[0] for _ in range(2)]
    assert verdicts == [200, 429]


async def test_an_addresses_uploads_are_limited_across_visitors(
    tmp_path: Path, engine: ConversationEngine
) -> None:
    async with (
        serving(tmp_path, engine, web_files_per_address_per_day=2) as site,
        citizen(site) as first,
        citizen(site) as second,
    ):
        verdicts = [(await upload(site, v.token, png()))[0] for v in (first, second, first, second)]
    assert verdicts == [200, 200, 429, 429]


# 2. Hello floods


async def test_new_visitors_from_one_address_are_budgeted(tmp_path: Path, engine: ConversationEngine) -> None:
    async with serving(tmp_path, engine, web_chat_new_per_hour=3) as site:
        admitted = []
        for _ in range(3):
            async with citizen(site) as visitor:
                admitted.append(visitor.token)
        code, frames = await refused(site, {"type": "hello", "visitor": None})
        invented, _ = await refused(site, {"type": "hello", "visitor": secrets.token_urlsafe(24)})
        async with citizen(site, admitted[0]) as returning:  # a known visitor is not a new chat
            assert returning.token == admitted[0]
        conversations = await count(site, Conversation)
    assert code == BUSY_CLOSE and invented == BUSY_CLOSE
    assert [f["type"] for f in frames] == ["error"] and "слишком много чатов" in str(frames[0]["text"])
    assert conversations <= 3


async def test_a_burst_of_new_visitors_from_one_address_is_cut_short(
    tmp_path: Path, engine: ConversationEngine
) -> None:
    """Of an hour's new chats, only a few start at once: a flood's burst makes a few chats, not 30."""
    async with serving(tmp_path, engine, web_chat_new_per_hour=30, web_chat_new_at_once=2) as site:
        for _ in range(2):
            async with citizen(site):
                pass
        code, frames = await refused(site, {"type": "hello", "visitor": None})
        started = await count(site, InboxUpdate)  # each chat's first update, stored before its welcome
    assert code == BUSY_CLOSE and "слишком много чатов" in str(frames[0]["text"])
    assert started == 2


async def test_a_refused_new_visitor_costs_no_database_read(
    tmp_path: Path, engine: ConversationEngine
) -> None:
    """A flood of hellos over the budget is refused before anything is looked up for it."""
    async with serving(tmp_path, engine, web_chat_new_per_hour=1) as site:
        async with citizen(site):
            pass
        store = site.runtime.web_store
        assert store is not None
        reads: list[str] = []
        history, ended = store.history, store.ended

        async def counted_history(channel: str, chat_id: str, limit: int = 100) -> list[HistoryItem]:
            reads.append("history")
            return await history(channel, chat_id, limit)

        async def counted_ended(chat_id: str) -> bool:
            reads.append("ended")
            return await ended(chat_id)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(store, "history", counted_history)
            patch.setattr(store, "ended", counted_ended)
            codes = [(await refused(site, {"type": "hello", "visitor": None}))[0] for _ in range(5)]
    assert codes == [BUSY_CLOSE] * 5
    assert reads == []


async def test_open_sockets_of_the_whole_process_are_capped(
    tmp_path: Path, engine: ConversationEngine
) -> None:
    async with serving(tmp_path, engine, web_chat_sockets_max=2) as site:
        async with citizen(site), citizen(site):
            code, frames = await refused(site, {"type": "hello", "visitor": None})
        async with citizen(site) as again:  # the closed ones are given back
            assert again.token
    assert code == BUSY_CLOSE and "слишком много посетителей" in str(frames[0]["text"])


async def test_open_sockets_per_address_are_capped(tmp_path: Path, engine: ConversationEngine) -> None:
    async with serving(tmp_path, engine, web_chat_sockets_per_address=2) as site:
        async with citizen(site) as one, citizen(site) as two:
            code, frames = await refused(site, {"type": "hello", "visitor": one.token})
            assert two.token
        async with citizen(site) as again:  # the closed ones are given back
            assert again.token
    assert code == BUSY_CLOSE and "слишком много окон" in str(frames[0]["text"])


# 3. Foreign pages' sockets


async def test_a_socket_from_another_sites_page_is_refused(
    tmp_path: Path, engine: ConversationEngine
) -> None:
    portal = "https://portal.example.ru"
    async with serving(tmp_path, engine, web_allowed_origins=[portal]) as site:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refusal:
            await site.http.ws_connect(f"{site.url}/chat/ws", origin="https://evil.example.com")
        assert refusal.value.status == 403
        for origin in (site.url, portal):
            async with site.http.ws_connect(f"{site.url}/chat/ws", origin=origin) as ws:
                await ws.send_json({"type": "hello", "visitor": None})
                assert (await ws.receive_json(timeout=PATIENCE))["type"] == "welcome"


# 6. Headers


async def test_every_response_says_nosniff_and_names_no_versions(site: Site) -> None:
    chat = ("/chat/widget.js", "/chat/static/chat.js", "/chat/static/nothing.css", "/chat/files/nope")
    others = ("/", "/inbox", "/inbox/login", "/inbox/static/nothing.css", "/healthz", "/nowhere")
    for path in (*chat, *others):
        async with site.http.get(f"{site.url}{path}", allow_redirects=False) as response:
            assert response.headers.get("X-Content-Type-Options") == "nosniff", path
            server = response.headers.get("Server", "")
            assert "aiohttp" not in server.lower() and "python" not in server.lower(), (path, server)


async def test_the_inbox_shows_no_outside_image_and_posts_forms_only_to_itself(site: Site) -> None:
    async with site.http.get(f"{site.url}/inbox/login") as response:
        policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert "https:" not in directives["img-src"].split()
    assert directives["base-uri"] == "'none'" and directives["form-action"] == "'self'"


async def test_the_chat_page_lets_sockets_reach_only_its_own_host(site: Site) -> None:
    async with site.http.get(f"{site.url}/chat") as response:
        policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    sources = set(directives["connect-src"].split())
    host = site.url.removeprefix("http://")
    assert sources <= {"'self'", f"ws://{host}", f"wss://{host}"} and "'self'" in sources
