"""An operators' group in memory: the `handoff.ports.Desk` port for tests that need no messenger.

Topics and messages live in dicts; thread ids and message ids come from one counter, as in
Telegram, where a topic's thread id is the id of the message that created it. Posting into a
deleted or closed topic, or editing a message that was deleted (with its topic), raises
`TopicGone`. Every call is recorded in `calls` as `(method, *arguments)`, and the moment it was
made (`time.monotonic()`) in `stamps` at the same index; `fail_next` makes a method fail.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dialog.messages import Button
from handoff.errors import DeskError, DeskRefused, TopicGone
from handoff.ports import Desk, DeskFile


class MemoryDesk:
    def __init__(
        self,
        members: Iterable[str] = (),
        missing: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.topics: dict[int, dict[str, Any]] = {}  # thread id → {"chat", "name", "closed"}
        self.messages: dict[int, dict[str, Any]] = {}  # id → {"chat", "thread", "text", "buttons", ...}
        self.answers: list[tuple[str, str, bool]] = []  # (callback id, text, alert)
        self.members: set[str] = set(members)
        self.missing: list[str] = list(missing)
        self.calls: list[tuple[str, ...]] = []
        self.stamps: list[float] = []  # the clock (time.monotonic) at each call in `calls`
        self.deleted: set[int] = set()  # threads deleted by hand
        self._ids = itertools.count(100)
        self._failures: dict[str, list[DeskError]] = {}

    # Test helpers

    def delete_topic(self, thread: int) -> None:
        """Someone deleted the topic by hand: it and its messages are gone."""
        self.topics.pop(thread, None)
        self.deleted.add(thread)
        for message_id in [m for m, message in self.messages.items() if message["thread"] == thread]:
            del self.messages[message_id]

    def close_by_hand(self, thread: int) -> None:
        self.topics[thread]["closed"] = True

    def posts_in(self, thread: int) -> list[str]:
        """Texts (or captions) of the messages in a topic, oldest first."""
        return [m["text"] for _, m in sorted(self.messages.items()) if m["thread"] == thread]

    def calls_of(self, method: str) -> list[tuple[str, ...]]:
        return [call for call in self.calls if call[0] == method]

    def answer_to(self, callback_id: str) -> tuple[str, bool]:
        found = [(text, alert) for callback, text, alert in self.answers if callback == callback_id]
        assert len(found) == 1, f"{callback_id} answered {len(found)} times"
        return found[0]

    def fail_next(self, method: str, error: DeskError) -> None:
        """The next call of `method` raises `error` (after being recorded)."""
        self._failures.setdefault(method, []).append(error)

    async def _record(self, method: str, *arguments: object) -> None:
        self.calls.append((method, *(str(a) for a in arguments)))
        self.stamps.append(self._clock())
        await asyncio.sleep(0)  # a real desk is a network call: let other tasks run meanwhile
        failures = self._failures.get(method)
        if failures:
            raise failures.pop(0)

    def _open_topic(self, chat_id: str, thread_id: int) -> dict[str, Any]:
        topic = self.topics.get(thread_id)
        if topic is None or topic["chat"] != chat_id:
            raise TopicGone("Bad Request: message thread not found")
        if topic["closed"]:
            raise TopicGone("Bad Request: TOPIC_CLOSED")
        return topic

    def _existing_topic(self, chat_id: str, thread_id: int) -> dict[str, Any]:
        topic = self.topics.get(thread_id)
        if topic is None or topic["chat"] != chat_id:
            raise TopicGone("Bad Request: TOPIC_ID_INVALID")
        return topic

    # The Desk port

    async def create_topic(self, chat_id: str, name: str) -> int:
        await self._record("create_topic", chat_id, name)
        thread = next(self._ids)
        self.topics[thread] = {"chat": chat_id, "name": name, "closed": False}
        return thread

    async def rename_topic(self, chat_id: str, thread_id: int, name: str) -> None:
        await self._record("rename_topic", chat_id, thread_id, name)
        self._existing_topic(chat_id, thread_id)["name"] = name

    async def close_topic(self, chat_id: str, thread_id: int) -> None:
        await self._record("close_topic", chat_id, thread_id)
        self._existing_topic(chat_id, thread_id)["closed"] = True

    async def reopen_topic(self, chat_id: str, thread_id: int) -> None:
        await self._record("reopen_topic", chat_id, thread_id)
        self._existing_topic(chat_id, thread_id)["closed"] = False

    async def post(
        self,
        chat_id: str,
        thread_id: int,
        text: str,
        buttons: Sequence[Button] = (),
        mentions: Sequence[str] = (),
    ) -> int:
        await self._record("post", chat_id, thread_id, text)
        self._open_topic(chat_id, thread_id)
        if not text:
            raise DeskRefused("Bad Request: message text is empty")
        message_id = next(self._ids)
        self.messages[message_id] = {
            "chat": chat_id,
            "thread": thread_id,
            "text": text,
            "buttons": tuple(buttons),
            "mentions": tuple(mentions),
            "file": None,
        }
        return message_id

    async def post_file(self, chat_id: str, thread_id: int, file: DeskFile, caption: str) -> int:
        await self._record("post_file", chat_id, thread_id, file.kind, file.ref, caption)
        self._open_topic(chat_id, thread_id)
        message_id = next(self._ids)
        self.messages[message_id] = {
            "chat": chat_id,
            "thread": thread_id,
            "text": caption,
            "buttons": (),
            "mentions": (),
            "file": file,
        }
        return message_id

    async def edit(self, chat_id: str, message_id: int, text: str, buttons: Sequence[Button] = ()) -> None:
        await self._record("edit", chat_id, message_id, text)
        message = self.messages.get(message_id)
        if message is None or message["chat"] != chat_id:
            raise TopicGone("Bad Request: message to edit not found")
        message["text"] = text
        message["buttons"] = tuple(buttons)

    async def answer(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        await self._record("answer", callback_id, text, str(alert))
        self.answers.append((callback_id, text, alert))

    async def missing_rights(self, chat_id: str) -> list[str]:
        await self._record("missing_rights", chat_id)
        return list(self.missing)

    async def is_member(self, chat_id: str, user_id: str) -> bool:
        await self._record("is_member", chat_id, user_id)
        return user_id in self.members


def as_desk(desk: MemoryDesk) -> Desk:
    """MemoryDesk where a Desk is expected: mypy checks here that it satisfies the port."""
    return desk
