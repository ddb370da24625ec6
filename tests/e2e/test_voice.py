"""Citizens' voice messages during a ticket reach the operators from every channel: a voice message
in the ticket's Telegram topic, a player on the web inbox's ticket page."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from dialog.engine import ConversationEngine
from dialog.texts import VOICE
from handoff.accounts import Role, hash_password
from tests.e2e.conftest import Backend, free_port, running
from tests.e2e.desk_helpers import CHAT, DESK, Clock, desk_settings, in_desk, open_ticket, to_citizen
from tests.e2e.test_vk import texts
from tests.e2e.voice_helpers import OGG, WEBM, played, players
from tests.e2e.web_helpers import Site, citizen, listening, operator, settled_history, upload
from tests.e2e.web_helpers import open_ticket as open_web_ticket
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.vk_api import FakeVk

PASSWORD = "пароль-для-голоса"
VK_PEER = 3202


@pytest.fixture
async def vk() -> AsyncIterator[FakeVk]:
    async with FakeVk() as server:
        yield server


def settings_with_inbox(fake: FakeTelegram, backend: Backend, **overrides: Any) -> Any:
    values = {"web_inbox": True, "web_chat": True, "web_port": free_port(), "web_secret": "voice"}
    return desk_settings(fake, backend, **(values | {"web_chat_rate_per_second": 50} | overrides))


def voices_in_topic(fake: FakeTelegram, thread_id: int) -> list[Any]:
    return [c for c in in_desk(fake, "sendVoice") if c.params.get("message_thread_id") == thread_id]


async def test_a_telegram_voice_during_a_ticket_reaches_the_topic_and_the_web_inbox(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = settings_with_inbox(fake, backend)
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime:
        assert runtime.web_store is not None
        await runtime.web_store.add_account("vera", "Вера", Role.OPERATOR.value, hash_password(PASSWORD))
        # talking with the bot, a voice message is answered with a request for text
        fake.voice_update(CHAT, "voice-to-bot", OGG, 2)
        await fake.wait_for(lambda f: VOICE in to_citizen(f))

        ticket = await open_ticket(fake, runtime)
        told = len(to_citizen(fake))
        fake.voice_update(CHAT, "voice-in-ticket", OGG, 2)
        await fake.wait_for(lambda f: bool(voices_in_topic(f, ticket.thread_id)))
        (posted,) = voices_in_topic(fake, ticket.thread_id)
        assert posted.params["voice"] == "voice-in-ticket"  # the citizen's own voice message, by its id
        shown = [m for (chat, _), m in fake.messages.items() if chat == str(DESK) and "voice" in m]
        assert [m["voice"]["file_id"] for m in shown] == ["voice-in-ticket"]  # plays as a voice there
        # relayed without a word to the citizen: the next text arrives in the topic after it
        fake.message_update(CHAT, "Это я записал голосом")
        await fake.wait_for(lambda f: any("Это я записал голосом" in c.params["text"] for c in in_desk(f)))
        assert to_citizen(fake)[told:] == []

        async with operator(url, "vera", PASSWORD) as web:
            # the one said to the bot before the ticket is in the conversation too
            before, src = await players(web, ticket.id, 2)
            assert src.startswith(f"/inbox/ticket/{ticket.id}/files/") and before != src
            status, kind, body = await played(web, src)
            assert (status, kind, body) == (200, "audio/ogg", OGG)  # fetched from Telegram for the player
            page = (await web.get(f"/inbox/ticket/{ticket.id}?fragment=1"))[1]
            assert "Голосовое сообщение · 0:02" in page
            # only what the citizen sent in this ticket's conversation can be asked for
            assert (await played(web, f"/inbox/ticket/{ticket.id}/files/999999/0"))[0] == 404
        async with aiohttp.ClientSession() as stranger, stranger.get(url + src, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/inbox/login"  # staff only


async def test_a_vk_voice_during_a_ticket_reaches_the_topic_and_the_web_inbox(
    fake: FakeTelegram, vk: FakeVk, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    settings = settings_with_inbox(
        fake,
        sqlite_backend,
        vk_token=vk.token,
        vk_group_id=vk.group_id,
        vk_api_url=vk.url,
        vk_rate_per_second=0,
    )
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime:
        assert runtime.web_store is not None
        await runtime.web_store.add_account("vera", "Вера", Role.OPERATOR.value, hash_password(PASSWORD))
        await vk.wait_for(lambda f: bool(f.calls_of("longpoll")))
        for said, expect in [
            ("позовите оператора", "фамилию"),
            ("Смирнова Ольга", "СНИЛС"),
            ("нет", "телефон"),
            ("нет", "заявления"),
            ("нет", "Опишите"),
            ("не могу подписать заявление", "Ваше обращение №"),
        ]:
            before = len(texts(vk, VK_PEER))
            vk.message_new(VK_PEER, said)
            await vk.wait_for(lambda f, e=expect, b=before: any(e in t for t in texts(f, VK_PEER)[b:]))
        (ticket,) = await runtime.handoff.store.tickets_of("vk", str(VK_PEER))
        await fake.wait_for(lambda f: bool(f.topics))

        vk.message_new(VK_PEER, "", attachments=[vk.audio_message_attachment(OGG, duration=2)])
        await fake.wait_for(lambda f: bool(in_desk(f, "sendVoice")))
        (posted,) = in_desk(fake, "sendVoice")
        ticket = await runtime.handoff.store.ticket(ticket.id) or ticket
        assert posted.params["message_thread_id"] == ticket.thread_id
        assert posted.files.get("voice") == OGG  # fetched from VK and uploaded: by URL only OGG up to 1 MB

        async with operator(url, "vera", PASSWORD) as web:
            (src,) = await players(web, ticket.id)
            assert await played(web, src) == (200, "audio/ogg", OGG)  # fetched from VK for the player


async def test_a_web_chat_voice_during_a_ticket_reaches_the_topic_and_the_web_inbox(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    settings = settings_with_inbox(fake, sqlite_backend)
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime, aiohttp.ClientSession() as http:
        assert runtime.web_store is not None
        await runtime.web_store.add_account("vera", "Вера", Role.OPERATOR.value, hash_password(PASSWORD))
        await listening(http, url)
        site = Site(url, runtime, http)
        async with citizen(site) as visitor:
            number = await open_web_ticket(visitor, name="Сидоров Пётр Ильич")
            status, stored = await upload(site, visitor.token, WEBM, "voice.webm", "audio/webm")
            assert status == 200 and stored["mime"] == "audio/ogg" and stored["duration"] == 1
            await visitor.deliver({"type": "file", "id": "voice-1", "ref": stored["ref"]})
            await fake.wait_for(lambda f: bool(in_desk(f, "sendVoice")))
        (posted,) = in_desk(fake, "sendVoice")
        assert posted.files["voice"].startswith(b"OggS")  # uploaded as Ogg Opus: a voice in Telegram
        ticket = await runtime.handoff.store.by_number(number)
        assert ticket is not None and posted.params["message_thread_id"] == ticket.thread_id

        async with operator(url, "vera", PASSWORD) as web:
            (src,) = await players(web, ticket.id)
            assert src.startswith(f"/chat/files/{stored['ref']}?")  # served by the chat, signed
            status, kind, body = await played(web, src)
            assert (status, kind) == (200, "audio/ogg") and body == posted.files["voice"]

        # the citizen sees their voice message after a reload too
        await settled_history(site, visitor.chat_id, lambda items: any(i.attachments for i in items))
        async with citizen(site, visitor.token) as again:
            files = [f["file"] for f in again.welcome["history"] if f["from"] == "citizen" and f["file"]]
        assert [f["url"].split("?")[0] for f in files] == [f"/chat/files/{stored['ref']}"]
        assert [(f["name"], f["kind"]) for f in files] == [("", "voice")]


async def test_a_telegram_audio_file_and_round_video_reach_the_topic_and_the_web_inbox(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    settings = settings_with_inbox(fake, sqlite_backend)
    mp3, mp4 = b"ID3\x04\x00 a small mp3", b"\x00\x00\x00\x18ftypmp42 a small round video"
    async with running(settings, engine, clock=Clock()) as runtime:
        assert runtime.web_store is not None
        await runtime.web_store.add_account("vera", "Вера", Role.OPERATOR.value, hash_password(PASSWORD))
        ticket = await open_ticket(fake, runtime)
        fake.voice_update(CHAT, "audio-1", mp3, 40, kind="audio")
        fake.voice_update(CHAT, "note-1", mp4, 9, kind="video_note")
        await fake.wait_for(lambda f: bool(in_desk(f, "sendAudio")) and bool(in_desk(f, "sendVideoNote")))
        (audio,), (note,) = in_desk(fake, "sendAudio"), in_desk(fake, "sendVideoNote")
        assert (audio.params["audio"], audio.params["message_thread_id"]) == ("audio-1", ticket.thread_id)
        assert (note.params["video_note"], note.params["message_thread_id"]) == ("note-1", ticket.thread_id)

        async with operator(f"http://127.0.0.1:{settings.web_port}", "vera", PASSWORD) as web:
            (heard,) = await players(web, ticket.id)
            assert await played(web, heard) == (200, "audio/mpeg", mp3)
            page = (await web.get(f"/inbox/ticket/{ticket.id}?fragment=1"))[1]
            assert "Аудиофайл · 0:40" in page and "Видеосообщение · 0:09" in page
            (seen,) = re.findall(r'<video controls preload="none" src="([^"]+)"', page)
            assert await played(web, html.unescape(seen)) == (200, "video/mp4", mp4)
