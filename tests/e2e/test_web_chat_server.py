"""The citizens' web chat over a real socket: limits, resends, history, files and the page's CSP.

Okno runs in-process on a free port; a visitor is aiohttp's WebSocket client, as the page would be."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.web.files import FILE_KIND, FILE_TOO_BIG, NO_VISITOR, VOICE_TOO_LONG, VOICE_UNREADABLE
from adapters.web.server import BAD_FRAME, TOO_FAST, TOO_LONG
from dialog.engine import ConversationEngine
from dialog.texts import ATTACHMENT, VOICE
from storage.records import NewUpdate
from tests.e2e.voice_helpers import WEBM, longer
from tests.e2e.web_helpers import (
    GREETING,
    QUESTIONS,
    Citizen,
    Site,
    answered,
    citizen,
    photo_during_a_handoff,
    png,
    serving,
    settled_history,
    upload,
)


@pytest.fixture
async def site(tmp_path: Path, engine: ConversationEngine) -> AsyncIterator[Site]:
    async with serving(tmp_path, engine) as running_site:
        yield running_site


async def test_a_text_over_the_limit_is_refused_and_never_stored(site: Site) -> None:
    async with citizen(site) as visitor:
        after = len(visitor.frames)
        long_id = await visitor.say("а" * 2001)
        assert await visitor.error(long_id, after) == TOO_LONG.format(limit=2000)
        edge_id = await visitor.say("пароль " + "б" * 1993)  # exactly 2,000 characters is fine
        await visitor.ack(edge_id, after)
        question = await visitor.say(QUESTIONS[0])
        await visitor.ack(question, after)
        await visitor.reply(after)
        items = await settled_history(site, visitor.chat_id, lambda i: answered(i, [QUESTIONS[0]]))
    assert not any(len(item.text) > 2000 for item in items)
    assert not any(f["type"] == "ack" and f["id"] == long_id for f in visitor.frames)


async def test_unreadable_frames_are_refused_and_the_socket_goes_on(site: Site) -> None:
    async with citizen(site) as visitor:
        after = len(visitor.frames)
        await visitor.send_raw("{not json")
        assert await visitor.error(None, after) == BAD_FRAME
        after = len(visitor.frames)
        await visitor.send({"type": "subscribe", "id": "x1", "text": "привет"})
        assert await visitor.error(None, after) == BAD_FRAME
        after = len(visitor.frames)
        await visitor.send({"type": "message", "id": "e1", "text": "   "})  # nothing to say
        assert await visitor.error("e1", after) == BAD_FRAME

        after = len(visitor.frames)
        question = await visitor.say(QUESTIONS[0])
        await visitor.ack(question, after)
        _, reply = await visitor.reply(after)
    assert reply["from"] == "bot" and reply["text"]


async def test_a_burst_over_the_socket_limit_is_partly_refused(
    tmp_path: Path, engine: ConversationEngine
) -> None:
    async with serving(tmp_path, engine, web_chat_rate_per_second=0.01) as site, citizen(site) as visitor:
        after = len(visitor.frames)
        ids = [await visitor.say(text, f"b{n}") for n, text in enumerate(QUESTIONS)]
        for client_id in ids[:5]:
            await visitor.ack(client_id, after)
        for client_id in ids[5:]:
            assert await visitor.error(client_id, after) == TOO_FAST
        items = await settled_history(site, visitor.chat_id, lambda i: answered(i, list(QUESTIONS[:5])))
    assert {f["id"] for f in visitor.frames if f["type"] == "ack"} == set(ids[:5])
    assert [i.text for i in items if i.direction == "in" and i.text != "/start"] == list(QUESTIONS[:5])


async def test_all_sockets_of_one_address_share_a_limit(tmp_path: Path, engine: ConversationEngine) -> None:
    async with serving(tmp_path, engine, web_chat_ip_rate_per_second=0.01) as site:
        visitors = [Citizen(site.http, site.url) for _ in range(5)]
        for visitor in visitors:
            await visitor.connect()
        try:
            for visitor in visitors:  # 25 frames: five sockets each within their own burst of five
                for n in range(5):
                    await visitor.say(QUESTIONS[n], f"v{n}")
            verdicts = []
            for visitor in visitors:
                for n in range(5):
                    _, frame = await visitor.wait(
                        lambda f, n=n: f["type"] in ("ack", "error") and f["id"] == f"v{n}"
                    )
                    verdicts.append(frame)
        finally:
            for visitor in visitors:
                await visitor.close()
    assert sum(f["type"] == "ack" for f in verdicts) == 20  # the address's burst
    assert [f["text"] for f in verdicts if f["type"] == "error"] == [TOO_FAST] * 5


# Reconnects


async def test_a_resent_frame_is_acknowledged_again_but_answered_once(site: Site) -> None:
    async with citizen(site) as first:
        after = len(first.frames)
        await first.say(QUESTIONS[0], "same-1")
        await first.ack("same-1", after)
        await first.reply(after)
    replies_before = len(
        [
            i
            for i in await settled_history(site, first.chat_id, lambda i: answered(i, [QUESTIONS[0]]))
            if i.direction == "out"
        ]
    )
    async with citizen(site, first.token) as again:  # the page reconnects and resends what was unacked
        after = len(again.frames)
        await again.say(QUESTIONS[0], "same-1")
        await again.ack("same-1", after)
        await again.say(QUESTIONS[1], "next-2")
        await again.reply(after)
        items = await settled_history(site, again.chat_id, lambda i: answered(i, [QUESTIONS[1]]))
    assert [i.text for i in items if i.direction == "in"].count(QUESTIONS[0]) == 1
    second = next(n for n, i in enumerate(items) if i.text == QUESTIONS[1])
    assert len([i for i in items[:second] if i.direction == "out"]) == replies_before


async def test_a_returning_visitor_gets_their_history_and_no_second_greeting(site: Site) -> None:
    async with citizen(site) as first:
        await first.reply(0, GREETING)
        after = len(first.frames)
        await first.say(QUESTIONS[0])
        await first.reply(after)
    await settled_history(site, first.chat_id, lambda i: answered(i, [QUESTIONS[0]]))

    async with citizen(site, first.token) as again:
        history = again.welcome["history"]
        after = len(again.frames)
        await again.say(QUESTIONS[1])
        await again.reply(after)
    assert again.token == first.token
    assert [f["text"] for f in history if f["from"] == "citizen"] == [QUESTIONS[0]]
    assert sum(GREETING in f["text"] for f in history) == 1
    assert any(f["from"] == "bot" for f in history[-1:])
    assert not any(GREETING in f["text"] for f in again.frames if f["type"] == "message")


async def test_a_socket_that_never_says_hello_does_not_hold_up_others(site: Site) -> None:
    async with site.http.ws_connect(f"{site.url}/chat/ws") as silent, citizen(site) as visitor:
        _, greeting = await visitor.reply(0, GREETING)
        with pytest.raises(TimeoutError):
            await silent.receive(timeout=0.5)  # it is told nothing, not even a welcome
    assert greeting["from"] == "bot"


# Files


async def test_uploads_are_checked_by_visitor_kind_and_size(site: Site) -> None:
    async with citizen(site) as visitor:
        assert await upload(site, None, png()) == (403, {"error": NO_VISITOR})
        kind = FILE_KIND.format(limit="2 МБ")
        assert await upload(site, visitor.token, b"%PDF-1.7\n%...", "scan.png") == (415, {"error": kind})
        html = b"<html><script>alert(1)</script></html>"
        assert await upload(site, visitor.token, html, "x.png") == (415, {"error": kind})
        huge = png() + b"\x00" * (2 * 1024 * 1024)
        assert await upload(site, visitor.token, huge) == (413, {"error": FILE_TOO_BIG.format(limit="2 МБ")})

        image = png()
        status, stored = await upload(site, visitor.token, image, "скрин.png")
        assert status == 200 and stored["mime"] == "image/png" and stored["size"] == len(image)
        async with site.http.get(f"{site.url}{stored['url']}") as response:
            assert response.status == 200 and await response.read() == image
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.content_type == "image/png"


async def test_a_recording_is_kept_as_ogg_within_three_minutes(site: Site) -> None:
    async with citizen(site) as visitor:
        status, stored = await upload(site, visitor.token, WEBM, "voice.webm", "audio/webm")
        assert status == 200 and (stored["mime"], stored["duration"]) == ("audio/ogg", 1)
        async with site.http.get(f"{site.url}{stored['url']}") as response:
            assert response.status == 200 and response.content_type == "audio/ogg"  # plays in the page
            assert "Content-Disposition" not in response.headers
            assert (await response.read()).startswith(b"OggS")
        ranged = {"Range": "bytes=-100"}  # a player reads the end of the file to learn its length
        async with site.http.get(f"{site.url}{stored['url']}", headers=ranged) as response:
            assert response.status == 206 and len(await response.read()) == 100
            assert response.headers["Content-Range"].endswith(f"/{stored['size']}")
        too_long = VOICE_TOO_LONG.format(limit="3 минут")
        assert await upload(site, visitor.token, longer(WEBM, 100), "voice.webm", "audio/webm") == (
            413,
            {"error": too_long},
        )
        damaged = WEBM.replace(b"A_OPUS", b"A_VORB")
        assert await upload(site, visitor.token, damaged, "voice.webm", "audio/webm") == (
            415,
            {"error": VOICE_UNREADABLE},
        )


async def test_a_voice_message_to_the_bot_gets_asked_for_text(site: Site) -> None:
    async with citizen(site) as visitor:
        await visitor.reply(0, GREETING)
        _, stored = await upload(site, visitor.token, WEBM, "voice.webm", "audio/webm")
        after = len(visitor.frames)
        sent = await visitor.send_file(stored["ref"])
        await visitor.ack(sent, after)
        _, reply = await visitor.reply(after)
    assert reply["text"] == VOICE


async def test_a_visitor_cannot_send_another_visitors_file(site: Site) -> None:
    async with citizen(site) as owner, citizen(site) as other:
        _, stored = await upload(site, owner.token, png())
        after = len(other.frames)
        stolen = await other.send_file(stored["ref"])
        assert await other.error(stolen, after) == BAD_FRAME
        after = len(owner.frames)
        own = await owner.send_file(stored["ref"])
        await owner.ack(own, after)
        items = await settled_history(site, other.chat_id, lambda i: len(i) > 0)
    assert not any(item.attachments for item in items)


async def test_a_file_before_a_handoff_gets_the_text_only_reply(site: Site) -> None:
    async with citizen(site) as visitor:
        await visitor.reply(0, GREETING)
        _, stored = await upload(site, visitor.token, png())
        after = len(visitor.frames)
        sent = await visitor.send_file(stored["ref"])
        await visitor.ack(sent, after)
        _, reply = await visitor.reply(after)
    assert reply["text"] == ATTACHMENT


async def test_a_file_during_a_handoff_is_taken_without_a_refusal(site: Site) -> None:
    async with citizen(site) as visitor:
        number, _, _ = await photo_during_a_handoff(site, visitor)
    ticket = await site.runtime.handoff.store.by_number(number)
    assert ticket is not None and ticket.chat_id == visitor.chat_id and ticket.status == "new"
    # the turn that stores the file stores any reply to it too: once the file is there, so is a refusal
    items = await settled_history(site, visitor.chat_id, lambda got: any(i.attachments for i in got))
    position = next(index for index, item in enumerate(items) if item.attachments)
    (attachment,) = items[position].attachments
    assert attachment["kind"] == "photo" and attachment["name"] == "error.png"
    assert [i.text for i in items[position + 1 :] if i.direction == "out"] == []  # relayed silently


async def test_a_photo_sent_in_a_handoff_stays_in_the_citizens_history(site: Site) -> None:
    async with citizen(site) as visitor:
        _, ref, _ = await photo_during_a_handoff(site, visitor)
    async with citizen(site, visitor.token) as again:  # the page is reloaded
        files = [f["file"] for f in again.welcome["history"] if f["from"] == "citizen" and f["file"]]
    assert [f["url"].split("?")[0] for f in files] == [f"/chat/files/{ref}"]  # signed, expiring
    assert [(f["name"], f["kind"]) for f in files] == [("error.png", "photo")]


# The page


async def test_the_chat_page_may_be_framed_only_by_configured_sites(
    tmp_path: Path, engine: ConversationEngine
) -> None:
    portal = "https://portal.example.ru"
    async with (
        serving(tmp_path, engine, web_allowed_origins=[portal]) as site,
        site.http.get(f"{site.url}/chat") as response,
    ):
        assert response.status == 200
        policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert set(directives["frame-ancestors"].split()) == {"'self'", portal}


async def test_without_configured_sites_the_chat_page_is_framed_only_by_itself(site: Site) -> None:
    async with site.http.get(f"{site.url}/chat") as response:
        policy = response.headers["Content-Security-Policy"]
        assert "<html" in (await response.text()).lower()
    assert "frame-ancestors 'self';" in policy


async def test_a_message_the_database_cannot_take_is_resent_and_answered_once(site: Site) -> None:
    chat = site.runtime.web.chat
    assert chat is not None
    store, failures = chat.enqueue, [1]

    async def flaky(update: NewUpdate) -> None:
        if failures:  # the database is away for one write
            failures.pop()
            raise OSError("connection refused")
        await store(update)

    async with citizen(site) as visitor:
        chat.enqueue = flaky
        after = len(visitor.frames)
        client_id = await visitor.say(QUESTIONS[1])
        assert "не потеряно" in await visitor.error(None, after)  # the socket closes; the page resends
        await visitor.close()
        await visitor.connect(visitor.token)
        after = len(visitor.frames)
        await visitor.say(QUESTIONS[1], client_id)
        await visitor.ack(client_id, after)
        await visitor.reply(after)
        items = await settled_history(site, visitor.chat_id, lambda i: answered(i, [QUESTIONS[1]]))
    assert [i.text for i in items if i.direction == "in"].count(QUESTIONS[1]) == 1
