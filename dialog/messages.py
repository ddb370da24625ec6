"""Normalized message types that every channel adapter speaks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    STICKER = "sticker"
    VOICE = "voice"
    VIDEO = "video"
    LOCATION = "location"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: AttachmentKind
    size: int | None = None
    name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One thing a citizen sent: text, a button press, or attachments."""

    channel: str
    chat_id: str
    user_id: str
    text: str = ""
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    platform_message_id: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Button:
    """A button: `id` is the payload sent back when pressed, `label` what the citizen sees."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    ends_turn: bool = True


class Action(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    HANDOFF = "handoff"
    SMALLTALK = "smalltalk"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the classifier made of one message."""

    action: Action
    topic: str | None = None
    candidates: tuple[str, ...] = ()
    confidence: float = 0.0
    rule: str | None = None
    intent: str | None = None
