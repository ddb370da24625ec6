"""The boundary between the handoff logic and the operators' messenger group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dialog.messages import Button


@dataclass(frozen=True, slots=True)
class DeskFile:
    kind: str  # "photo", "document", or a recording: "voice", "audio", "video_note"
    ref: str  # the messenger's file id, an http(s) URL, or a web chat file («web:…»)
    name: str | None = None


@dataclass(frozen=True, slots=True)
class DeskMessage:
    """Someone wrote in the operators' group."""

    chat_id: str
    thread_id: int | None
    user_id: str
    user_name: str
    text: str
    files: tuple[DeskFile, ...] = ()


@dataclass(frozen=True, slots=True)
class DeskPress:
    """Someone pressed a button on a ticket's card or under it."""

    chat_id: str
    thread_id: int | None
    user_id: str
    user_name: str
    callback_id: str
    action: str
    ticket_id: int
    argument: str = ""


DeskEvent = DeskMessage | DeskPress


class Desk(Protocol):
    """The operators' group: one topic per ticket. Methods raise adapters.errors.AdapterError subclasses."""

    async def create_topic(self, chat_id: str, name: str) -> int:
        """A new topic; returns its thread id."""
        ...

    async def rename_topic(self, chat_id: str, thread_id: int, name: str) -> None: ...

    async def close_topic(self, chat_id: str, thread_id: int) -> None: ...

    async def reopen_topic(self, chat_id: str, thread_id: int) -> None: ...

    async def post(
        self,
        chat_id: str,
        thread_id: int,
        text: str,
        buttons: Sequence[Button] = (),
        mentions: Sequence[str] = (),
    ) -> int:
        """Post in the topic, notifying the `mentions` user ids; returns the message id.

        TopicGone if the topic was deleted or closed."""
        ...

    async def post_file(self, chat_id: str, thread_id: int, file: DeskFile, caption: str) -> int:
        """Post a file in the topic as what it is: a voice message plays as one. TopicGone as `post`."""
        ...

    async def edit(self, chat_id: str, message_id: int, text: str, buttons: Sequence[Button] = ()) -> None:
        """Replace a message's text and buttons; an unchanged message is not an error."""
        ...

    async def answer(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        """Answer a pressed button, as a short toast or an alert the presser must dismiss."""
        ...

    async def missing_rights(self, chat_id: str) -> list[str]:
        """What the bot lacks to run tickets in the group (empty when all is well)."""
        ...

    async def is_member(self, chat_id: str, user_id: str) -> bool: ...
