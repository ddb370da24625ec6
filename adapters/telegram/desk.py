"""The operators' group in Telegram: a forum supergroup, one topic per ticket, through aiogram."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
)
from aiogram.methods.base import TelegramMethod
from aiogram.types import BufferedInputFile, ChatMemberAdministrator, Message, MessageEntity, Update, User
from pydantic import ValidationError

from adapters.errors import AdapterError, PermanentFailure, RetryLater, TemporaryFailure, ThreadGone
from adapters.telegram.errors import translated
from adapters.telegram.mapping import button_payload, keyboard
from dialog.messages import Button
from handoff.errors import DeskBusy, DeskError, DeskMisconfigured, DeskRefused, DeskUnavailable, TopicGone
from handoff.ports import DeskEvent, DeskFile, DeskMessage, DeskPress, FetchFile
from storage.file_links import LOCAL_FILE

logger = logging.getLogger("okno.adapters.telegram.desk")

T = TypeVar("T")
_MEMBERS = ("creator", "administrator", "member", "restricted")
_FILE_NAMES = {"voice": "voice.ogg", "photo": "photo.jpg"}  # an upload's name when the citizen gave none
_GROUP_KINDS = ("message", "edited_message", "my_chat_member")  # the update kinds that carry a chat


class GetRawChat(TelegramMethod[dict[str, Any]]):
    """getChat as plain JSON: only `is_forum` matters, and the full ChatFullInfo grows every release."""

    __returning__ = dict[str, Any]
    __api_method__ = "getChat"

    chat_id: int


# what Telegram fetches from another messenger's URL itself: a photo (JPEG or PNG, up to 5 MB). A
# document it takes by URL only as GIF, PDF or ZIP, a voice message only as OGG up to 1 MB: those
# (a VK or MAX citizen's scan, their voice) are fetched through their channel and uploaded
BY_URL = frozenset({"photo"})


class TelegramDesk:
    """The Desk port over a Bot that is an administrator of the groups with «Manage topics»."""

    def __init__(self, bot: Bot, fetch_file: FetchFile | None = None) -> None:
        self.fetch_file = fetch_file  # a file the group is sent by content: (channel, ref) -> its bytes
        self.bot = bot

    async def create_topic(self, chat_id: str, name: str) -> int:
        topic = await _call(self.bot.create_forum_topic(int(chat_id), name))
        return topic.message_thread_id

    async def rename_topic(self, chat_id: str, thread_id: int, name: str) -> None:
        await _call(self.bot.edit_forum_topic(int(chat_id), thread_id, name=name))

    async def close_topic(self, chat_id: str, thread_id: int) -> None:
        try:
            await _call(self.bot.close_forum_topic(int(chat_id), thread_id))
        except DeskError as exc:
            if "not_modified" not in str(exc).lower():
                raise

    async def reopen_topic(self, chat_id: str, thread_id: int) -> None:
        try:
            await _call(self.bot.reopen_forum_topic(int(chat_id), thread_id))
        except DeskError as exc:
            if "not_modified" not in str(exc).lower():
                raise

    async def post(
        self,
        chat_id: str,
        thread_id: int,
        text: str,
        buttons: Sequence[Button] = (),
        mentions: Sequence[str] = (),
    ) -> int:
        entities = None
        if mentions:
            text, entities = _with_mentions(text, mentions)
        message = await _call(
            self.bot.send_message(
                int(chat_id),
                text,
                message_thread_id=thread_id,
                reply_markup=keyboard(buttons),
                entities=entities,
            )
        )
        return message.message_id

    async def post_file(self, chat_id: str, thread_id: int, file: DeskFile, caption: str) -> int:
        content: str | BufferedInputFile = file.ref
        url = file.ref.startswith(("http://", "https://"))
        if file.ref.startswith(LOCAL_FILE) or (url and file.kind not in BY_URL):  # by content, not id or URL
            name = file.name or _FILE_NAMES.get(file.kind, "file")
            content = BufferedInputFile(await self._content(file), name)
        message = await _call(self._send_file(file.kind, int(chat_id), thread_id, content, caption or None))
        return message.message_id

    async def _content(self, file: DeskFile) -> bytes:
        """A file not on Telegram, from where the citizen's channel keeps it (the web chat's store,
        VK's or MAX's file hosts)."""
        if self.fetch_file is None:
            raise DeskRefused("the citizen's file is not on Telegram and cannot be fetched")
        try:
            data = await self.fetch_file(file.channel, file.ref)
        except (TemporaryFailure, RetryLater) as exc:
            raise DeskUnavailable(f"the citizen's file could not be fetched: {exc}") from exc
        except AdapterError as exc:
            raise DeskRefused(f"the citizen's file cannot be fetched: {exc}") from exc
        if data is None:
            raise DeskRefused("the citizen's file is gone from where it was kept")
        return data

    def _send_file(
        self, kind: str, chat: int, thread: int, content: str | BufferedInputFile, caption: str | None
    ) -> Awaitable[Message]:
        """The Bot API method for the kind: a voice message, an audio file or a round video shows
        with its player in the topic."""
        if kind == "photo":
            return self.bot.send_photo(chat, content, message_thread_id=thread, caption=caption)
        if kind == "voice":
            return self.bot.send_voice(chat, content, message_thread_id=thread, caption=caption)
        if kind == "audio":
            return self.bot.send_audio(chat, content, message_thread_id=thread, caption=caption)
        if kind == "video_note":  # a round video takes no caption
            return self.bot.send_video_note(chat, content, message_thread_id=thread)
        return self.bot.send_document(chat, content, message_thread_id=thread, caption=caption)

    async def edit(self, chat_id: str, message_id: int, text: str, buttons: Sequence[Button] = ()) -> None:
        try:
            await _call(
                self.bot.edit_message_text(
                    text=text,
                    chat_id=int(chat_id),
                    message_id=message_id,
                    reply_markup=keyboard(buttons),
                )
            )
        except DeskError as exc:
            if "message is not modified" not in str(exc):
                raise

    async def answer(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        try:
            await _call(self.bot.answer_callback_query(callback_id, text=text or None, show_alert=alert))
        except DeskError as exc:  # an answer older than ~15 s is refused; nothing else depends on it
            logger.info("a button press was not answered: %s", exc)

    async def missing_rights(self, chat_id: str) -> list[str]:
        try:
            chat = await _call(self.bot(GetRawChat(chat_id=int(chat_id))))
            me = await _call(self.bot.get_me())
            member = await _call(self.bot.get_chat_member(int(chat_id), me.id))
        except DeskError as exc:
            return [f"группа недоступна боту ({exc})"]
        missing = []
        if not chat.get("is_forum"):
            missing.append("в группе не включены темы (форум)")
        if not isinstance(member, ChatMemberAdministrator):
            missing.append("бот не администратор группы")
        elif not member.can_manage_topics:
            missing.append("у бота нет права «Управление темами»")
        return missing

    async def is_member(self, chat_id: str, user_id: str) -> bool:
        member = await _call(self.bot.get_chat_member(int(chat_id), int(user_id)))
        return member.status in _MEMBERS


async def check_desks(desk: TelegramDesk, chats: Sequence[str]) -> None:
    """At startup: the bot can run tickets in every group, or a message says what to fix."""
    problems = []
    for chat in chats:
        missing = await desk.missing_rights(chat)
        if missing:
            problems.append(f"группа {chat}: " + "; ".join(missing))
    if problems:
        raise DeskMisconfigured(
            "Бот не может вести обращения в группе операторов — "
            + " | ".join(problems)
            + ". Сделайте бота администратором с правом «Управление темами» и включите темы в группе "
            "(или уберите группу из OKNO_DESK_CHAT_IDS), затем запустите Okno снова."
        )


async def _call(request: Awaitable[T]) -> T:
    try:
        return await request
    except AiogramError as exc:
        raise for_desk(translated(exc)) from exc


def for_desk(error: AdapterError) -> DeskError:
    """What a failed Bot API call means to the handoff side, in its own error tree."""
    if isinstance(error, RetryLater):
        return DeskBusy(error.seconds)
    if isinstance(error, ThreadGone):
        return TopicGone(str(error))
    if isinstance(error, PermanentFailure):
        return DeskRefused(str(error))
    return DeskUnavailable(str(error))  # a server or network problem, or the bot shut out of the group


def _with_mentions(text: str, user_ids: Sequence[str]) -> tuple[str, list[MessageEntity]]:
    """The text followed by a mention of each user id, which notifies them even without a username."""
    entities = []
    text += "\n"
    for index, user_id in enumerate(user_ids, 1):
        label = f"руководитель {index}"
        offset = len(text.encode("utf-16-le")) // 2  # Telegram counts offsets in UTF-16 units
        entities.append(
            MessageEntity(
                type="text_mention",
                offset=offset,
                length=len(label.encode("utf-16-le")) // 2,
                user=User(id=int(user_id), is_bot=False, first_name=label),
            )
        )
        text += label + " "
    return text.rstrip(), entities


# Updates from the operators' groups


def desk_chat(payload: dict[str, Any]) -> str | None:
    """The group an update comes from, if it is a group at all. Read on receipt from the raw JSON, in
    which any part may be of the wrong type: such an update comes from no group."""
    query = _object(payload.get("callback_query"))
    for source in (*(payload.get(kind) for kind in _GROUP_KINDS), query.get("message")):
        chat = _object(_object(source).get("chat"))
        if chat.get("type") in ("group", "supergroup"):
            return str(chat.get("id"))
    return None


def desk_topic(payload: dict[str, Any]) -> str:
    """The group and topic an update belongs to: one topic's updates are handled in order."""
    query = _object(payload.get("callback_query"))
    message = _object(payload.get("message")) or _object(query.get("message"))
    return f"{desk_chat(payload)}:{message.get('message_thread_id')}"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def decode_desk(payload: dict[str, Any]) -> DeskEvent | None:
    try:
        update = Update.model_validate(payload)
    except ValidationError:
        logger.warning("malformed update from an operators' group ignored")
        return None
    if update.callback_query is not None and update.callback_query.message is not None:
        return _press(
            update.callback_query.id,
            update.callback_query.from_user,
            update.callback_query.message.chat.id,
            getattr(update.callback_query.message, "message_thread_id", None),
            update.callback_query.data,
        )
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    return DeskMessage(
        chat_id=str(message.chat.id),
        thread_id=message.message_thread_id if message.is_topic_message else None,
        user_id=str(message.from_user.id),
        user_name=message.from_user.full_name,
        text=message.text or message.caption or "",
        files=_files(message),
    )


def _press(
    callback_id: str, user: User, chat_id: int, thread_id: int | None, data: str | None
) -> DeskPress | None:
    action, _, rest = button_payload(data).partition(":")
    ticket, _, argument = rest.partition(":")
    if not ticket.isdigit():
        return DeskPress(str(chat_id), thread_id, str(user.id), user.full_name, callback_id, "unknown", 0)
    return DeskPress(
        str(chat_id), thread_id, str(user.id), user.full_name, callback_id, action, int(ticket), argument
    )


def _files(message: Message) -> tuple[DeskFile, ...]:
    if message.photo:
        return (DeskFile("photo", message.photo[-1].file_id),)
    if message.document:
        return (DeskFile("document", message.document.file_id, message.document.file_name),)
    return ()
