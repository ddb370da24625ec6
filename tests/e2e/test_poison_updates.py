"""Updates no real client would send, or odd values in real ones, never stop the bot for anyone."""

from __future__ import annotations

from typing import Any

from dialog.engine import ConversationEngine
from tests.e2e.conftest import Backend, make_settings, running
from tests.fakes.telegram_api import FakeTelegram

GOOD = 801


def answered(fake: FakeTelegram, chat: int) -> list[str]:
    return [
        str(c.params["text"])
        for c in fake.calls_of("sendMessage")
        if c.params.get("chat_id") == chat and c.status == 200
    ]


def message(chat: Any, text: str, first_name: str = "Иван") -> dict[str, Any]:
    sender = {"id": 900, "is_bot": False, "first_name": first_name}
    return {"message": {"message_id": 1, "date": 1_700_000_000, "chat": chat, "from": sender, "text": text}}


async def test_type_confused_updates_are_skipped_and_polling_goes_on(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    async with running(make_settings(fake, backend), engine):
        fake.push_update({"message": "hi"})
        fake.push_update(message(5, "chat is a number"))
        fake.push_update(message({"id": "9" * 200, "type": "private"}, "a chat id longer than any column"))
        fake.push_update({"callback_query": {"id": "1", "from": "nobody", "data": "x" * 300}})
        fake.message_update(GOOD, "привет")
        await fake.wait_for(lambda f: len(answered(f, GOOD)) == 1, timeout=60)
        fake.message_update(GOOD, "спасибо")  # and the next poll still works
        await fake.wait_for(lambda f: len(answered(f, GOOD)) == 2, timeout=60)


async def test_nul_bytes_lone_surrogates_and_huge_names_are_answered(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    async with running(make_settings(fake, backend), engine):
        fake.message_update(811, "не приходит\x00 смс с кодом")
        fake.message_update(812, "не приходит смс с кодом \ud83d")
        fake.message_update(813, "не приходит смс с кодом", first_name="Я" * 1000)
        fake.message_update(GOOD, "привет")
        for chat in (811, 812, 813, GOOD):
            await fake.wait_for(lambda f, chat=chat: len(answered(f, chat)) == 1, timeout=60)
        for chat in (811, 812, 813):
            assert "код" in answered(fake, chat)[0].lower()
