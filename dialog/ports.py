"""Boundaries of the dialog package: where conversation state is kept.

The engine itself is pure; `Conversations` loads a conversation's state through a
`StateStore`, runs the engine and saves the new state. Storage provides the Redis
implementation; `MemoryStateStore` serves the embedded default and the tests.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from dialog.engine import ConversationEngine, Turn
from dialog.messages import InboundMessage
from dialog.state import ConversationState


class StateStore(Protocol):
    """Keeps small JSON-compatible values by key."""

    async def load(self, key: str) -> dict[str, Any] | None: ...

    async def save(self, key: str, value: dict[str, Any]) -> None: ...


class MemoryStateStore:
    """A StateStore in this process's memory; values are copied through JSON like Redis would."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    async def load(self, key: str) -> dict[str, Any] | None:
        raw = self._values.get(key)
        return None if raw is None else dict(json.loads(raw))

    async def save(self, key: str, value: dict[str, Any]) -> None:
        self._values[key] = json.dumps(value, ensure_ascii=False)


def conversation_key(message: InboundMessage) -> str:
    return f"conversation:{message.channel}:{message.chat_id}"


class Conversations:
    """Runs the engine over stored state, one message at a time."""

    def __init__(self, engine: ConversationEngine, store: StateStore) -> None:
        self.engine = engine
        self.store = store

    async def handle(self, message: InboundMessage) -> Turn:
        key = conversation_key(message)
        state = ConversationState.from_dict(await self.store.load(key))
        turn = self.engine.handle(message, state)
        await self.store.save(key, turn.state.to_dict())
        return turn
