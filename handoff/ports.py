"""The handoff logic's boundaries: where tickets are kept, and the operators' messenger group."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dialog.messages import Button
from dialog.tickets import Status, Ticket
from storage.pending import Parts
from storage.records import (
    CitizenMessage,
    EventRecord,
    NewTicket,
    NewUpdate,
    PostRecord,
    QueuedJob,
    QueuedPost,
    TicketChange,
)

FetchFile = Callable[[str, str], Awaitable[bytes | None]]  # (channel, ref) → the file, None if gone


@dataclass(frozen=True, slots=True)
class DeskFile:
    kind: str  # "photo", "document", or a recording: "voice", "audio", "video_note"
    ref: str  # the messenger's file id, an http(s) URL, or a web chat file («web:…»)
    name: str | None = None
    channel: str = ""  # the citizen's channel, which keeps a file that is not the group's own


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
    """The operators' group: one topic per ticket. Methods raise handoff.errors.DeskError subclasses."""

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


class TicketLinks(Protocol):
    """Other chats of the same citizen whose repeated request joined an open ticket."""

    async def open_with(
        self, snils: str | None, phone: str | None, channel: str, chat_id: str
    ) -> list[Ticket]:
        """Open tickets of other chats with exactly this СНИЛС or phone, newest first."""
        ...

    async def link(self, ticket_id: int, channel: str, chat_id: str, user_id: str, matched: str) -> None: ...

    async def linked_open(self, channel: str, chat_id: str) -> Ticket | None: ...

    async def last_linked(self, channel: str, chat_id: str) -> Ticket | None: ...

    async def is_linked(self, ticket_id: int, channel: str, chat_id: str) -> bool: ...


class TicketRepository(Protocol):
    """Where tickets, their audit trail, the jobs that change them and their topics' posts are kept.

    Each method is one transaction; `apply` writes a change only if nobody changed the ticket first."""

    @property
    def links(self) -> TicketLinks: ...

    # Tickets

    async def open_ticket(
        self, new: NewTicket, numbering: Callable[[int], str], event: EventRecord, posts: Sequence[PostRecord]
    ) -> tuple[Ticket, bool]:
        """The ticket for `new.source_key`, created now (True) or by an earlier run of the same job."""
        ...

    async def apply(self, change: TicketChange) -> Ticket | None:
        """The ticket as changed; None if it moved on from `change.before.version` meanwhile."""
        ...

    async def ticket(self, ticket_id: int) -> Ticket | None: ...

    async def tickets(self, ids: Sequence[int]) -> dict[int, Ticket]: ...

    async def by_number(self, number: str) -> Ticket | None: ...

    async def by_thread(self, desk_chat_id: str, thread_id: int) -> Ticket | None: ...

    async def active_ticket(self, channel: str, chat_id: str) -> Ticket | None: ...

    async def last_resolved(self, channel: str, chat_id: str) -> Ticket | None: ...

    async def tickets_of(self, channel: str, chat_id: str, limit: int = 5) -> list[Ticket]:
        """The chat's tickets, newest first."""
        ...

    async def waiting(self, level: int | None = None) -> list[Ticket]:
        """Tickets nobody has taken yet, in the order they will be taken."""
        ...

    async def with_status(self, status: Status, changed_before: datetime) -> list[Ticket]: ...

    async def queue_position(self, ticket: Ticket) -> int: ...

    async def events(self, ticket_id: int) -> list[EventRecord]: ...

    async def transcript(self, channel: str, chat_id: str, limit: int) -> list[tuple[str, str]]:
        """The conversation's last messages, oldest first: (direction, text)."""
        ...

    async def set_topic(self, ticket_id: int, thread_id: int | None, card_message_id: int | None) -> None: ...

    async def mark_sla_alerted(self, ticket_id: int) -> None: ...

    async def mark_queue_told(self, ticket_id: int, position: int) -> None: ...

    # Messages that are not ticket changes

    async def post(self, ticket: Ticket, posts: Sequence[PostRecord]) -> None: ...

    async def send_to_citizen(
        self, channel: str, chat_id: str, messages: Sequence[CitizenMessage]
    ) -> None: ...

    async def inject(self, updates: Sequence[NewUpdate]) -> None:
        """Ticket events into the citizens' inbox, handled in order with their messages."""
        ...

    # The jobs turns asked for, and the posts waiting for a topic

    async def pending_jobs(self, after_id: int, limit: int, parts: Parts = None) -> list[QueuedJob]: ...

    async def jobs_among(self, ids: Sequence[int], parts: Parts = None) -> list[QueuedJob]: ...

    async def settled_jobs(self, ids: Sequence[int], parts: list[int]) -> list[int]:
        """Of ids jumped over, those that are not pending jobs of these partitions."""
        ...

    async def finish_jobs(self, job_ids: Sequence[int]) -> None: ...

    async def give_up_job(self, job: QueuedJob, reason: str, attempts: int) -> None:
        """The job is done with, and a dead letter says why."""
        ...

    async def release_slot(self, slot: int) -> None: ...

    async def pending_posts(self, desk_chat_id: str, limit: int = 200) -> list[QueuedPost]: ...

    async def desks_with_posts(self) -> list[str]: ...

    async def finish_posts(self, ids: Sequence[int]) -> None: ...

    async def give_up_posts(self, posts: Sequence[QueuedPost], reason: str, attempts: int) -> None:
        """Posts the group refuses are done with, a dead letter each."""
        ...
