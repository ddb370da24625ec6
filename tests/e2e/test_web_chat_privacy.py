"""A citizen's files and history stay theirs: file links need the visitor's token or a signature
that expires, and «Завершить чат» makes the server forget the token (a shared computer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialog.engine import ConversationEngine
from tests.e2e.web_helpers import QUESTIONS, Site, citizen, png, serving, settled_history, upload


@pytest.fixture
async def site(tmp_path: Path, engine: ConversationEngine) -> AsyncIterator[Site]:
    async with serving(tmp_path, engine) as running_site:
        yield running_site


async def status_of(site: Site, path: str, token: str | None = None) -> tuple[int, str]:
    headers = {"X-Okno-Visitor": token} if token else {}
    async with site.http.get(f"{site.url}{path}", headers=headers) as response:
        return response.status, response.headers.get("Cache-Control", "")


async def test_a_file_opens_for_its_visitor_or_a_signed_link_only(site: Site) -> None:
    async with citizen(site) as visitor, citizen(site) as other:
        _, stored = await upload(site, visitor.token, png())
        path = f"/chat/files/{stored['ref']}"
        assert (await status_of(site, path))[0] == 403  # a bare link, copied anywhere
        assert (await status_of(site, path, other.token))[0] == 403
        assert await status_of(site, path, visitor.token) == (200, "private, no-store")
        assert await status_of(site, stored["url"]) == (200, "private, no-store")
        assert (await status_of(site, stored["url"][:-4] + "0000"))[0] == 403  # a forged signature


async def end(site: Site, token: str) -> int:
    async with site.http.post(f"{site.url}/chat/end", headers={"X-Okno-Visitor": token}) as response:
        return response.status


async def test_an_ended_chat_is_forgotten_by_the_server(site: Site) -> None:
    async with citizen(site) as visitor, citizen(site) as other_tab:
        await visitor.say(QUESTIONS[0], "q1")
        await settled_history(site, visitor.chat_id, lambda items: any(i.direction == "out" for i in items))
        _, stored = await upload(site, visitor.token, png())
        old = visitor.token
        await other_tab.close()
        async with citizen(site, old) as second_tab:
            assert second_tab.welcome["history"]  # before: the whole conversation
            assert await end(site, old) == 200
            await second_tab.wait(lambda f: f["type"] == "ended")  # the browser's other tabs are told
    async with citizen(site, old) as next_person:
        assert next_person.token != old and not any(
            f["from"] == "citizen" for f in next_person.welcome["history"]
        )
    assert (await upload(site, old, png()))[0] == 403
    assert (await status_of(site, f"/chat/files/{stored['ref']}", old))[0] == 403
    assert await end(site, "not a token") == 403
