"""The Telegram channel: decoding stored updates and delivering replies through aiogram's Bot."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
)
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import TelegramObject

from adapters.base import Decoded
from adapters.errors import PermanentFailure, RetryLater, TemporaryFailure
from adapters.telegram import mapping
from adapters.telegram.errors import translated
from adapters.telegram.session import JsonAiohttpSession
from dialog.messages import Button

logger = logging.getLogger("okno.adapters.telegram")

MAX_TEXT = 4096


class SentMessage(TelegramObject):
    """Of the message Telegram returns for a send, Okno needs only its id."""

    message_id: int


class SendText(TelegramMethod[SentMessage]):
    """sendMessage without parsing the whole Message that comes back: the hot path of every reply."""

    __returning__ = SentMessage
    __api_method__ = "sendMessage"

    chat_id: int | str
    text: str
    reply_markup: dict[str, Any] | None = None  # built once per distinct keyboard
    link_preview_options: dict[str, Any] | None = None

    def json_payload(self) -> dict[str, Any]:
        """The request body as is: plain values, no files, nothing for aiogram to prepare."""
        payload: dict[str, Any] = {"chat_id": self.chat_id, "text": self.text}
        if self.reply_markup is not None:
            payload["reply_markup"] = self.reply_markup
        if self.link_preview_options is not None:
            payload["link_preview_options"] = self.link_preview_options
        return payload


# aiogram parametrizes Response[...] on every call; pydantic keeps such classes only while
# someone refers to them, and rebuilding one costs a schema build each time.
_RESPONSE_TYPES = (Response[SentMessage], Response[bool])
_NO_PREVIEW = {"is_disabled": True}


def make_bot(token: str, api_url: str | None = None) -> Bot:
    """A Bot for the official API or any server speaking it (a local telegram-bot-api, a fake)."""
    session = (
        JsonAiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else JsonAiohttpSession()
    )
    return Bot(token, session=session, default=DefaultBotProperties(link_preview_is_disabled=True))


class TelegramChannel:
    name = mapping.CHANNEL
    max_text_length = MAX_TEXT
    deduplicates = False  # the Bot API has no idempotency key

    def __init__(self, bot: Bot, allow_groups: bool = False) -> None:
        self.bot = bot
        self.allow_groups = allow_groups

    def decode(self, payload: dict[str, Any]) -> Decoded:
        return mapping.decode(payload, self.allow_groups)

    def display_name(self, payload: dict[str, Any]) -> str | None:
        return mapping.display_name(payload)

    async def acknowledge(self, payload: dict[str, Any], text: str | None = None) -> None:
        """Answer a pressed button so that it stops spinning, whatever its data were."""
        query = payload.get("callback_query")
        if not query or "id" not in query:
            return
        try:
            await self.bot.answer_callback_query(str(query["id"]), text=text)
        except AiogramError as exc:  # an answer older than ~15 s is refused; the reply still goes out
            logger.info("callback query not answered: %s", exc)

    async def send(
        self, chat_id: str, text: str, buttons: Sequence[Button], key: str | None = None
    ) -> str | None:
        method = SendText(
            chat_id=int(chat_id),
            text=text,
            reply_markup=mapping.keyboard_dict(buttons),
            link_preview_options=_NO_PREVIEW,
        )
        sent: Awaitable[SentMessage] = self.bot(method)
        return await _delivered(sent)

    async def send_media(
        self,
        chat_id: str,
        kind: str,
        ref: str,
        caption: str,
        key: str | None = None,
        data: bytes | None = None,
    ) -> str | None:
        send = self.bot.send_photo if kind == "photo" else self.bot.send_document
        return await _delivered(send(int(chat_id), ref, caption=caption or None))

    async def fetch_file(self, ref: str) -> bytes:
        try:
            file = await self.bot.get_file(ref)
            if not file.file_path:
                raise PermanentFailure("Telegram gave no path for the file")
            content = await self.bot.download_file(file.file_path)
        except AiogramError as exc:
            error = translated(exc)
            if isinstance(error, RetryLater | TemporaryFailure):
                raise error from exc
            # not the receiving chat's fault: the file is refused, the chat is not blocked
            raise PermanentFailure(f"the file cannot be fetched from Telegram: {error}") from exc
        return content.read() if content is not None else b""

    async def close(self) -> None:
        await self.bot.session.close()


class _Sent(Protocol):
    @property
    def message_id(self) -> int: ...


async def _delivered(request: Awaitable[_Sent]) -> str:
    """The message id of a send, or the adapter error that says what to do about the failure."""
    try:
        message = await request
    except AiogramError as exc:
        raise translated(exc) from exc
    return str(message.message_id)
