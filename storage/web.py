"""What the web chat and the web inbox keep: citizens' files, operator accounts, notes, transcripts."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialog.tickets import ACTIVE, Ticket
from storage.db import as_utc
from storage.errors import StorageError
from storage.file_links import FileLinks
from storage.models import (
    Conversation,
    EndedVisitor,
    InboxUpdate,
    Message,
    OperatorAccount,
    OutboxMessage,
    TicketEvent,
    TicketLink,
    TicketNote,
    TicketRow,
    WebFile,
)
from storage.ticket_rows import tickets_of_rows


class AccountExists(StorageError):
    """An operator account with this login is already there."""


@dataclass(frozen=True, slots=True)
class Note:
    """An operator's private note on a ticket."""

    author: str
    author_name: str
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One message of a conversation as the web shows it."""

    id: int
    direction: str  # "in" or "out"
    text: str
    at: datetime
    buttons: list[list[str]]
    media: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    outcome: str | None = None  # "operator" for what people wrote
    payload: str | None = None  # the button a citizen pressed
    via: str | None = None  # the channel of another chat of the citizen linked to the ticket


class WebStore:
    """Files, history and the change marker of the web side; each method is one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], links: FileLinks | None = None) -> None:
        self._sessions = sessions
        self.links = links or FileLinks(secrets.token_bytes(32))  # signs every link to a file it hands out

    async def save_file(self, chat_id: str, name: str, mime_type: str, data: bytes) -> str:
        ref = secrets.token_urlsafe(24)
        async with self._sessions.begin() as session:
            session.add(
                WebFile(
                    ref=ref, chat_id=chat_id, name=name[:256], mime_type=mime_type, size=len(data), data=data
                )
            )
        return ref

    async def files_since(self, chat_id: str, since: datetime) -> tuple[int, int]:
        """How many files, and how many bytes, the visitor's conversation got from `since` on."""
        async with self._sessions() as session:
            query = select(func.count(), func.coalesce(func.sum(WebFile.size), 0)).where(
                WebFile.chat_id == chat_id, WebFile.created_at >= since
            )
            count, size = (await session.execute(query)).one()
        return int(count), int(size)

    async def delete_files_before(self, cutoff: datetime) -> int:
        """Forget the files kept before `cutoff` (the retention period); how many went."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(WebFile).where(WebFile.created_at < cutoff).returning(WebFile.ref)
            )
            return len(result.all())

    async def conversation_exists(self, channel: str, chat_id: str) -> bool:
        """Has this chat a conversation (or its first update, not handled yet), and was it not ended?"""
        async with self._sessions() as session:
            if await session.get(EndedVisitor, chat_id) is not None:
                return False
            found = select(Conversation.id).where(
                Conversation.channel == channel, Conversation.chat_id == chat_id
            )
            if await session.scalar(found.limit(1)) is not None:
                return True
            started = select(InboxUpdate.id).where(InboxUpdate.key == f"{channel}:{chat_id}:start")
            return await session.scalar(started.limit(1)) is not None

    async def end_visitor(self, chat_id: str) -> None:
        """The citizen ended the chat: its token is never accepted again (idempotent)."""
        async with self._sessions.begin() as session:
            if await session.get(EndedVisitor, chat_id) is None:
                session.add(EndedVisitor(chat_id=chat_id))

    async def ended(self, chat_id: str) -> bool:
        async with self._sessions() as session:
            return await session.get(EndedVisitor, chat_id) is not None

    async def file(self, ref: str) -> WebFile | None:
        async with self._sessions() as session:
            return await session.get(WebFile, ref)

    async def file_data(self, ref: str) -> bytes | None:
        stored = await self.file(ref)
        return None if stored is None else bytes(stored.data)

    async def attachment(
        self, channel: str, chat_id: str, message_id: int, index: int
    ) -> dict[str, Any] | None:
        """A file the citizen sent in this conversation, as kept with their message."""
        async with self._sessions() as session:
            query = (
                select(Message.attachments)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.id == message_id, Message.direction == "in")
                .where(Conversation.channel == channel, Conversation.chat_id == chat_id)
            )
            files = list(await session.scalar(query) or [])
        found = files[index] if 0 <= index < len(files) else None
        return found if isinstance(found, dict) else None

    async def history(self, channel: str, chat_id: str, limit: int = 100) -> list[HistoryItem]:
        """The conversation's last messages, oldest first, with the buttons and files that went out."""
        async with self._sessions() as session:
            query = (
                select(Message, OutboxMessage.buttons, OutboxMessage.media)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .outerjoin(OutboxMessage, OutboxMessage.message_id == Message.id)
                .where(Conversation.channel == channel, Conversation.chat_id == chat_id)
                .order_by(Message.id.desc())
                .limit(limit)
            )
            rows = (await session.execute(query)).all()
        items = []
        for row in reversed(rows):
            message: Message = row[0]
            buttons, media = row[1], row[2]
            items.append(
                HistoryItem(
                    message.id,
                    message.direction,
                    message.text,
                    message.created_at,
                    list(buttons or []),
                    self._linked(media) if media else media,
                    [self._linked(a) for a in message.attachments or []],
                    message.outcome,
                    message.payload,
                )
            )
        return items

    def _linked(self, file: dict[str, Any]) -> dict[str, Any]:
        """A file as stored, with the signed link a page opens it by (`url`)."""
        return file | {"url": self.links.url(str(file["ref"]))} if file.get("ref") else file

    async def ticket_history(self, ticket: Ticket, limit: int = 100) -> list[HistoryItem]:
        """The ticket's conversation, with the citizen's other chats whose repeated request joined
        it, in the order things were said; those chats' messages carry their channel."""
        items = await self.history(ticket.channel, ticket.chat_id, limit)
        async with self._sessions() as session:
            query = select(TicketLink.channel, TicketLink.chat_id).where(TicketLink.ticket_id == ticket.id)
            links = (await session.execute(query.order_by(TicketLink.id))).all()
        for channel, chat_id in links:
            theirs = await self.history(str(channel), str(chat_id), limit)
            items += [replace(item, via=str(channel)) for item in theirs]
        return sorted(items, key=lambda item: (item.at, item.id)) if links else items

    async def outcome_of(self, outbox_id: int) -> str | None:
        """What the reply in the outbox is: "operator" for what people wrote, else the bot's outcome."""
        async with self._sessions() as session:
            query = (
                select(Message.outcome)
                .join(OutboxMessage, OutboxMessage.message_id == Message.id)
                .where(OutboxMessage.id == outbox_id)
            )
            return await session.scalar(query)

    async def revision(self) -> tuple[int, ...]:
        """Changes whenever anything an operator looks at changes: messages, ticket moves, notes."""
        marker = select(
            select(func.max(Message.id)).scalar_subquery(),
            select(func.max(TicketEvent.id)).scalar_subquery(),
            select(func.max(TicketNote.id)).scalar_subquery(),
            select(func.sum(TicketRow.version)).where(TicketRow.status.in_(sorted(ACTIVE))).scalar_subquery(),
        )
        async with self._sessions() as session:  # one round trip, twice a second while pages watch
            values = (await session.execute(marker)).one()
        return tuple(int(v or 0) for v in values)

    # The web inbox

    async def tickets(
        self, statuses: Sequence[str], level: int | None = None, category: str | None = None
    ) -> list[Ticket]:
        async with self._sessions() as session:
            query = select(TicketRow).where(TicketRow.status.in_(list(statuses)))
            if level is not None:
                query = query.where(TicketRow.level == level)
            if category is not None:  # the tickets of one expertise
                query = query.where(TicketRow.category == category)
            query = query.order_by(TicketRow.priority.desc(), TicketRow.id).limit(500)
            return tickets_of_rows((await session.scalars(query)).all())

    async def counts(self) -> dict[str, int]:
        async with self._sessions() as session:
            rows = await session.execute(select(TicketRow.status, func.count()).group_by(TicketRow.status))
            return {str(status): int(count) for status, count in rows.all()}

    async def notes(self, ticket_id: int) -> list[Note]:
        async with self._sessions() as session:
            query = select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)
            rows = (await session.scalars(query)).all()
            return [Note(n.author, n.author_name, n.text, as_utc(n.created_at)) for n in rows]

    async def add_note(self, ticket_id: int, author: str, author_name: str, text: str) -> None:
        async with self._sessions.begin() as session:
            session.add(TicketNote(ticket_id=ticket_id, author=author, author_name=author_name, text=text))

    # Operator accounts

    async def add_account(self, login: str, name: str, role: str, password_hash: str) -> None:
        try:
            async with self._sessions.begin() as session:
                session.add(OperatorAccount(login=login, name=name, role=role, password_hash=password_hash))
        except IntegrityError as exc:
            raise AccountExists(f"the login {login!r} is taken") from exc

    async def account(self, login: str) -> OperatorAccount | None:
        async with self._sessions() as session:
            return await session.scalar(select(OperatorAccount).where(OperatorAccount.login == login))

    async def accounts(self) -> list[OperatorAccount]:
        async with self._sessions() as session:
            return list(
                (await session.scalars(select(OperatorAccount).order_by(OperatorAccount.login))).all()
            )

    async def set_account(self, login: str, *, end_sessions: bool = False, **values: Any) -> bool:
        """Change an account (disabled, password_hash, role); False if there is no such login.
        With `end_sessions`, every session issued so far stops working (its generation is bumped)."""
        if end_sessions:
            values["session_generation"] = OperatorAccount.session_generation + 1
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(OperatorAccount)
                .where(OperatorAccount.login == login)
                .values(**values)
                .returning(OperatorAccount.id)
            )
            return result.scalar_one_or_none() is not None
