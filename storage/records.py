"""Plain values the repositories take: updates to store and turns to record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class NewUpdate:
    key: str
    channel: str
    chat_key: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message to store: inbound from a citizen or outbound from the bot."""

    text: str
    payload: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    platform_message_id: str | None = None
    outcome: str | None = None
    topic: str | None = None
    rule: str | None = None
    confidence: float | None = None
    kb_revision: str | None = None
    buttons: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """Everything one handled update changes, written in one transaction."""

    update_id: int | None  # the inbox row, if the update came through the inbox
    update_key: str
    channel: str
    chat_id: str
    user_id: str
    display_name: str | None
    inbound: MessageRecord
    outbound: Sequence[MessageRecord]
    engine_state: dict[str, Any]
    keep_state: bool = False  # a fixed notice leaves the conversation where it was


@dataclass(frozen=True, slots=True)
class Delivery:
    """A reply the platform accepted."""

    outbox_id: int
    message_id: int | None  # the stored outbound message
    platform_id: str | None  # the platform's id for it
