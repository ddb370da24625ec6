"""Normalized message types that every channel adapter speaks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    STICKER = "sticker"
    VOICE = "voice"  # a voice message (Telegram's voice note, VK's audio message, a web recording)
    AUDIO = "audio"  # an audio file
    VIDEO_NOTE = "video_note"  # Telegram's round video message
    VIDEO = "video"
    LOCATION = "location"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: AttachmentKind
    size: int | None = None
    name: str | None = None
    mime_type: str | None = None
    ref: str | None = None  # the platform's file id, to pass the file on to an operator
    duration: int | None = None  # seconds, for what is listened to or watched


# What a citizen recorded or sent to be listened to: operators get it to play.
RECORDINGS = frozenset({AttachmentKind.VOICE, AttachmentKind.AUDIO, AttachmentKind.VIDEO_NOTE})


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


class TicketEventKind(StrEnum):
    RESOLVED = "resolved"  # an operator solved it: the citizen is asked for a rating
    CLOSED = "closed"  # closed without an answer (or gone): the bot has the conversation back


@dataclass(frozen=True, slots=True)
class SystemEvent:
    """Something that happened to a citizen's ticket, fed into their conversation in order."""

    channel: str
    chat_id: str
    user_id: str
    kind: TicketEventKind
    ticket: str  # the ticket's number

    def encode(self) -> dict[str, Any]:
        """The payload of the inbox row that carries it: marked so no platform update is taken for it."""
        return {
            EVENT_ENVELOPE: {
                "kind": self.kind.value,
                "ticket": self.ticket,
                "chat_id": self.chat_id,
                "user_id": self.user_id,
            }
        }

    @classmethod
    def decode(cls, channel: str, payload: dict[str, Any]) -> SystemEvent | None:
        """The event an inbox row carries; None for a platform update. ValueError for a damaged one."""
        body = payload.get(EVENT_ENVELOPE)
        if body is None:
            return None
        try:
            kind = TicketEventKind(body["kind"])
            return cls(channel, str(body["chat_id"]), str(body["user_id"]), kind, str(body["ticket"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a damaged ticket event: {body!r}") from exc


EVENT_ENVELOPE = "okno_event"  # the one key the handoff side writes; platforms never send it


# Effects: what a turn asks the handoff side to do, written in the same transaction as the turn.


class TicketKind(StrEnum):
    QUESTION = "question"  # people answer in the chat
    CALLBACK = "callback"  # people call the citizen back on the phone they left


@dataclass(frozen=True, slots=True)
class OpenTicket:
    rule: str
    level: int
    priority: int
    identification: tuple[tuple[str, str], ...]  # (kind, value) the citizen gave
    description: str
    kind: TicketKind = TicketKind.QUESTION
    callback_time: str = ""  # when a call suits the citizen, in their words («после 18»)
    category: str | None = None  # the knowledge base's category the problem is in: who has the expertise
    category_title: str | None = None


@dataclass(frozen=True, slots=True)
class RelayToTicket:
    """The citizen's message goes to the operator of their open ticket."""

    text: str
    attachments: tuple[Attachment, ...] = ()
    repeat: str | None = None  # the rule, when the message asks for people again («позовите оператора»)


@dataclass(frozen=True, slots=True)
class StatusQuery:
    number: str | None  # None: all of the citizen's tickets


@dataclass(frozen=True, slots=True)
class RateTicket:
    number: str
    score: int | None = None
    comment: str | None = None


Effect = OpenTicket | RelayToTicket | StatusQuery | RateTicket
