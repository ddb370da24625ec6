"""Repositories over the database: the update inbox, conversation turns and the outbox."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import (
    Contact,
    Conversation,
    InboxUpdate,
    Message,
    OutboxMessage,
    ProcessedUpdate,
    utcnow,
)

logger = logging.getLogger("okno.storage")


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


class Repository:
    """All database access of the running bot; each method is one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def enqueue_updates(self, updates: Sequence[NewUpdate]) -> int:
        """Store updates durably; ones already stored are skipped. Returns how many were new."""
        if not updates:
            return 0
        async with self._sessions.begin() as session:
            rows = [
                {"key": u.key, "channel": u.channel, "chat_key": u.chat_key, "payload": u.payload}
                for u in updates
            ]
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            statement = insert(InboxUpdate).values(rows).on_conflict_do_nothing(index_elements=["key"])
            result = await session.execute(statement.returning(InboxUpdate.id))
            return len(result.all())

    async def pending_updates(self, after_id: int, limit: int) -> list[InboxUpdate]:
        async with self._sessions() as session:
            query = (
                select(InboxUpdate)
                .where(InboxUpdate.done.is_(False), InboxUpdate.id > after_id)
                .order_by(InboxUpdate.id)
                .limit(limit)
            )
            return list((await session.scalars(query)).all())

    async def conversation_state(self, channel: str, chat_id: str) -> dict[str, Any] | None:
        async with self._sessions() as session:
            query = select(Conversation.engine_state).where(
                Conversation.channel == channel, Conversation.chat_id == chat_id
            )
            return (await session.execute(query)).scalar_one_or_none()

    async def record_turn(self, turn: TurnRecord) -> list[int] | None:
        """Write a handled update; None if its key was already recorded (a duplicate)."""
        try:
            async with self._sessions.begin() as session:
                session.add(ProcessedUpdate(key=turn.update_key))
                await session.flush()
                outbox_ids = await self._write_turn(session, turn)
                if turn.update_id is not None:
                    await session.execute(
                        update(InboxUpdate).where(InboxUpdate.id == turn.update_id).values(done=True)
                    )
                return outbox_ids
        except IntegrityError:
            logger.info("update %s was already handled; skipping", turn.update_key)
            if turn.update_id is not None:
                await self.mark_update_done(turn.update_id)
            return None

    async def _write_turn(self, session: AsyncSession, turn: TurnRecord) -> list[int]:
        contact = await self._contact(session, turn.channel, turn.user_id, turn.display_name)
        conversation = await self._conversation(session, turn.channel, turn.chat_id, contact.id)
        if not turn.keep_state:
            conversation.engine_state = turn.engine_state
        conversation.last_activity_at = utcnow()
        session.add(_message(conversation.id, "in", turn.inbound))
        outbox = []
        for record in turn.outbound:
            message = _message(conversation.id, "out", record)
            session.add(message)
            await session.flush()
            item = OutboxMessage(
                channel=turn.channel,
                chat_id=turn.chat_id,
                message_id=message.id,
                text=record.text,
                buttons=record.buttons,
            )
            session.add(item)
            outbox.append(item)
        await session.flush()
        return [item.id for item in outbox]

    async def _contact(
        self, session: AsyncSession, channel: str, external_id: str, name: str | None
    ) -> Contact:
        query = select(Contact).where(Contact.channel == channel, Contact.external_id == external_id)
        contact = (await session.scalars(query)).one_or_none()
        if contact is None:
            contact = Contact(channel=channel, external_id=external_id, display_name=name)
            session.add(contact)
            await session.flush()
        else:
            contact.blocked_bot = False  # they wrote to us, so they have unblocked the bot
            if name and contact.display_name != name:
                contact.display_name = name
        return contact

    async def _conversation(
        self, session: AsyncSession, channel: str, chat_id: str, contact_id: int
    ) -> Conversation:
        query = select(Conversation).where(Conversation.channel == channel, Conversation.chat_id == chat_id)
        conversation = (await session.scalars(query)).one_or_none()
        if conversation is None:
            conversation = Conversation(
                channel=channel, chat_id=chat_id, contact_id=contact_id, engine_state={}
            )
            session.add(conversation)
            await session.flush()
        return conversation

    async def mark_update_done(self, update_id: int, *, failed: bool = False) -> None:
        async with self._sessions.begin() as session:
            values: dict[str, Any] = {"done": True} if not failed else {}
            if failed:
                values["attempts"] = InboxUpdate.attempts + 1
            await session.execute(update(InboxUpdate).where(InboxUpdate.id == update_id).values(**values))

    async def pending_outbox(self, after_id: int, limit: int) -> list[OutboxMessage]:
        async with self._sessions() as session:
            query = (
                select(OutboxMessage)
                .where(
                    OutboxMessage.sent.is_(False), OutboxMessage.failed.is_(None), OutboxMessage.id > after_id
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list((await session.scalars(query)).all())

    async def mark_sent(self, outbox_id: int, platform_message_id: str | None) -> None:
        async with self._sessions.begin() as session:
            item = await session.get(OutboxMessage, outbox_id)
            if item is None:
                return
            item.sent = True
            item.platform_message_id = platform_message_id
            if item.message_id is not None:
                await session.execute(
                    update(Message)
                    .where(Message.id == item.message_id)
                    .values(platform_message_id=platform_message_id)
                )

    async def mark_failed(self, outbox_id: int, reason: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(failed=reason[:250])
            )

    async def set_blocked(self, channel: str, external_id: str, blocked: bool) -> None:
        """What the platform told us about the citizen blocking or unblocking the bot."""
        if blocked:
            await self.mark_blocked(channel, external_id)
            return
        async with self._sessions.begin() as session:
            await session.execute(
                update(Contact)
                .where(Contact.channel == channel, Contact.external_id == external_id)
                .values(blocked_bot=False)
            )

    async def mark_blocked(self, channel: str, chat_id: str) -> None:
        """The citizen blocked the bot: remember it and give up what waits for that chat."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Contact)
                .where(Contact.channel == channel, Contact.external_id == chat_id)
                .values(blocked_bot=True)
            )
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.channel == channel,
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.sent.is_(False),
                )
                .values(failed="blocked by the user")
            )

    async def is_blocked(self, channel: str, external_id: str) -> bool:
        async with self._sessions() as session:
            query = select(Contact.blocked_bot).where(
                Contact.channel == channel, Contact.external_id == external_id
            )
            return bool((await session.execute(query)).scalar_one_or_none())


def _message(conversation_id: int, direction: str, record: MessageRecord) -> Message:
    return Message(
        conversation_id=conversation_id,
        direction=direction,
        text=record.text,
        payload=record.payload,
        attachments=record.attachments,
        platform_message_id=record.platform_message_id,
        outcome=record.outcome,
        topic=record.topic,
        rule=record.rule,
        confidence=record.confidence,
        kb_revision=record.kb_revision,
    )
