"""The fake Telegram Bot API, driven by the real aiogram client over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    ChatMemberAdministrator,
    ForumTopic,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)

from tests.fakes.telegram_api import FakeTelegram

TOKEN = "123:ABC"
KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Да", callback_data="yes")]])


def make_bot(fake: FakeTelegram, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = make_bot(fake)
    try:
        yield client
    finally:
        await client.session.close()


async def test_serves_on_localhost_with_a_random_port(fake: FakeTelegram) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.token == TOKEN


async def test_get_me_is_the_test_bot(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.is_bot
    assert me.username == "okno_test_bot"
    assert me.id == 123
    assert [call.method for call in fake.calls] == ["getMe"]


async def test_send_message_records_decoded_params_and_echoes_the_keyboard(
    bot: Bot, fake: FakeTelegram
) -> None:
    message = await bot.send_message(42, "Здравствуйте! 123", reply_markup=KEYBOARD)
    again = await bot.send_message(42, "Ещё")
    assert again.message_id == message.message_id + 1
    assert message.chat.id == 42
    assert message.text == "Здравствуйте! 123"
    assert message.reply_markup is not None
    assert message.reply_markup.model_dump() == KEYBOARD.model_dump()
    (call, _) = fake.calls_of("sendmessage")
    assert call.method == "sendMessage"
    assert call.params["chat_id"] == 42
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "Да", "callback_data": "yes"}]]}
    assert fake.sent_texts() == ["Здравствуйте! 123", "Ещё"]
    assert fake.sent_texts(chat_id=7) == []


async def test_get_updates_returns_pushed_updates_and_offset_confirms_them(
    bot: Bot, fake: FakeTelegram
) -> None:
    first = fake.message_update(42, "привет")["update_id"]
    fake.callback_update(42, "yes")
    updates = await bot.get_updates(allowed_updates=["message", "callback_query"])
    assert [u.update_id for u in updates] == [first, first + 1]
    assert first == 1000
    assert updates[0].message is not None and updates[0].message.text == "привет"
    assert updates[1].callback_query is not None and updates[1].callback_query.data == "yes"
    assert fake.allowed_updates_seen == [["message", "callback_query"]]
    assert await bot.get_updates(offset=first + 1) == updates[1:]
    assert await bot.get_updates(offset=first + 2) == []


async def test_get_updates_long_polls_until_an_update_arrives(bot: Bot, fake: FakeTelegram) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await fake.wait_for(lambda f: len(f.calls_of("getUpdates")) == 1)
    started = time.monotonic()
    fake.message_update(42, "есть кто?")
    updates = await poll
    assert time.monotonic() - started < 10  # answered when the update came, not at the timeout
    assert [u.message.text for u in updates if u.message] == ["есть кто?"]


async def test_get_updates_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9


async def test_update_helpers_build_well_formed_updates(fake: FakeTelegram) -> None:
    updates = [
        fake.message_update(-100500, "вопрос", 7, chat_type="supergroup", first_name="Пётр"),
        fake.callback_update(42, "yes"),
        fake.sticker_update(42),
        fake.photo_update(42, "photo-1", 2048),
    ]
    parsed = [Update.model_validate(update) for update in updates]
    assert parsed[0].message is not None and parsed[0].message.from_user is not None
    assert parsed[0].message.from_user.first_name == "Пётр"
    assert parsed[0].message.chat.type == "supergroup"
    assert parsed[2].message is not None and parsed[2].message.sticker is not None
    assert parsed[3].message is not None and parsed[3].message.photo is not None
    assert parsed[3].message.photo[-1].file_size == 2048


async def test_429_raises_retry_after_once(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(42, "раз")
    assert caught.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in caught.value.message
    await bot.send_message(42, "два")
    assert fake.sent_texts() == ["два"]
    assert [call.status for call in fake.calls] == [429, 200]


async def test_500_raises_server_error(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("getMe", status=500, count=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Internal Server Error"):
            await bot.get_me()
    assert (await bot.get_me()).is_bot


async def test_403_and_blocked_chat_raise_forbidden(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", status=403)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(42, "раз")
    fake.block_chat(42)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(42, "два")
    await bot.send_message(43, "другому")
    assert fake.sent_texts() == ["другому"]


async def test_400_with_custom_description(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(42, "<b>")


async def test_hang_next_delays_the_answer(bot: Bot, fake: FakeTelegram) -> None:
    fake.hang_next("getMe", 0.3)
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started >= 0.3


async def test_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    intruder = make_bot(fake, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await intruder.get_me()
    finally:
        await intruder.session.close()
    assert fake.calls == []


async def test_raw_protocol_json_urlencoded_and_unknown_method(fake: FakeTelegram) -> None:
    base = f"{fake.url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/SENDMESSAGE", json={"chat_id": 5, "text": "json"}) as resp:
            assert resp.status == 200
            assert (await resp.json())["result"]["text"] == "json"
        async with http.post(f"{base}/sendMessage", data={"chat_id": "5", "text": "007"}) as resp:
            assert (await resp.json())["result"]["text"] == "007"
        async with http.post(f"{base}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert fake.sent_texts(chat_id=5) == ["json", "007"]


async def test_get_file_and_download(bot: Bot, fake: FakeTelegram) -> None:
    fake.add_file("doc-1", b"%PDF-1.4 bytes", file_path="documents/form.pdf")
    file = await bot.get_file("doc-1")
    assert file.file_path == "documents/form.pdf"
    assert file.file_size == 14
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"%PDF-1.4 bytes"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


async def test_send_photo_upload_is_recorded_and_downloadable(bot: Bot, fake: FakeTelegram) -> None:
    message = await bot.send_photo(42, BufferedInputFile(b"\xff\xd8jpeg", filename="a.jpg"), caption="фото")
    assert message.caption == "фото"
    assert message.photo is not None
    (call,) = fake.calls_of("sendPhoto")
    assert call.files == {"photo": b"\xff\xd8jpeg"}
    file = await bot.get_file(message.photo[-1].file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"\xff\xd8jpeg"
    again = await bot.send_document(42, "doc-by-id")
    assert again.document is not None and again.document.file_id == "doc-by-id"


async def test_edits_chat_actions_and_callback_answers(bot: Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(42, "вопрос", reply_markup=KEYBOARD)
    assert await bot.answer_callback_query("1", text="ok") is True
    assert await bot.send_chat_action(42, "typing") is True
    edited = await bot.edit_message_text("ответ", chat_id=42, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "ответ" and edited.reply_markup is None and edited.edit_date
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("ответ", chat_id=42, message_id=sent.message_id)
    marked = await bot.edit_message_reply_markup(
        chat_id=42, message_id=sent.message_id, reply_markup=KEYBOARD
    )
    assert not isinstance(marked, bool) and marked.reply_markup is not None
    assert marked.reply_markup.inline_keyboard[0][0].callback_data == "yes"


async def test_webhook_roundtrip(bot: Bot, fake: FakeTelegram) -> None:
    assert await bot.set_webhook(
        "https://example.test/hook", secret_token="s3cret", allowed_updates=["message"]
    )
    assert fake.webhook == {
        "url": "https://example.test/hook",
        "secret_token": "s3cret",
        "allowed_updates": ["message"],
    }
    info = await bot.get_webhook_info()
    assert info.url == "https://example.test/hook"
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""


async def test_forum_topics(bot: Bot, fake: FakeTelegram) -> None:
    topic = await bot.create_forum_topic(-100500, "Обращение №1")
    assert isinstance(topic, ForumTopic)
    assert topic.name == "Обращение №1"
    assert topic.icon_color == 7322096
    thread = topic.message_thread_id
    assert await bot.edit_forum_topic(-100500, thread, name="Обращение №1 (закрыто)")
    assert fake.topics[thread]["name"] == "Обращение №1 (закрыто)"
    assert await bot.close_forum_topic(-100500, thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_CLOSED"):
        await bot.send_message(-100500, "в закрытую тему", message_thread_id=thread)
    assert await bot.reopen_forum_topic(-100500, thread)
    message = await bot.send_message(-100500, "в тему", message_thread_id=thread)
    assert message.message_thread_id == thread
    assert await bot.delete_forum_topic(-100500, thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await bot.close_forum_topic(-100500, thread)


async def test_chat_member_rights_are_configurable(bot: Bot, fake: FakeTelegram) -> None:
    member = await bot.get_chat_member(-100500, 123)
    assert isinstance(member, ChatMemberAdministrator)
    assert member.can_manage_topics is True
    (admin,) = await bot.get_chat_administrators(-100500)
    assert admin.user.id == 123
    fake.set_bot_member(can_manage_topics=False)
    member = await bot.get_chat_member(-100500, 123)
    assert isinstance(member, ChatMemberAdministrator) and member.can_manage_topics is False
    assert (await bot.get_chat_member(-100500, 7)).status == "member"


async def test_wait_for_fails_with_a_summary_of_calls(bot: Bot, fake: FakeTelegram) -> None:
    await bot.send_message(42, "привет")
    await fake.wait_for(lambda f: f.sent_texts(42) == ["привет"], timeout=1)
    with pytest.raises(AssertionError, match=r"(?s)within 0.1s.*sendMessage -> 200"):
        await fake.wait_for(lambda f: bool(f.calls_of("sendPhoto")), timeout=0.1)


async def test_the_fake_holds_a_group_to_its_limit_edits_and_topics_included(fake: FakeTelegram) -> None:
    fake.add_group(-100777)
    fake.limit_groups(3)
    async with make_bot(fake) as bot:
        topic = await bot.create_forum_topic(-100777, "тема")
        sent = await bot.send_message(-100777, "раз", message_thread_id=topic.message_thread_id)
        await bot.edit_message_text("два", chat_id=-100777, message_id=sent.message_id)
        with pytest.raises(TelegramRetryAfter) as refused:
            await bot.send_message(-100777, "три")
        await bot.send_message(42, "в личный чат лимит группы не действует")
    assert 1 <= refused.value.retry_after <= 61
    assert fake.too_many == 1


async def test_a_document_or_voice_by_url_is_taken_only_in_the_formats_telegram_fetches(
    bot: Bot, fake: FakeTelegram
) -> None:
    with pytest.raises(TelegramBadRequest, match="wrong type of the web page content"):
        await bot.send_document(5, "https://files.example/scan.png")
    with pytest.raises(TelegramBadRequest, match="wrong type of the web page content"):
        await bot.send_voice(5, "https://files.example/voice.mp3")
    assert (await bot.send_document(5, "https://files.example/statement.pdf")).document is not None
    assert (await bot.send_voice(5, "https://files.example/voice.ogg")).voice is not None
    assert (await bot.send_photo(5, "https://files.example/photo.png")).photo
