"""Repositories over the database: the update inbox, conversation turns and the outbox."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import Any, cast

from sqlalchemy import Result, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.bulk import update_by_id, upsert
from storage.dead_letters import DeadLetterStore
from storage.models import Contact, Conversation, Cursor, InboxUpdate, Message, OutboxMessage, utcnow
from storage.partitions import filtered, partition_of, settled_ids
from storage.pending import Parts
from storage.records import CITIZENS_QUEUE, DESK_QUEUE, Delivery, NewUpdate, TurnRecord
from storage.safe import fit, safe_json
from storage.turns import write_turns


class Repository:
    """All database access of the running bot; each method is one transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sanitize: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._sanitize = sanitize  # applied to every update before it is stored (secrets masked)
        self.dead_letters = DeadLetterStore(sessions)

    async def enqueue_updates(self, updates: Sequence[NewUpdate]) -> int:
        """Store updates durably; ones already stored are skipped. Returns how many were new."""
        if not updates:
            return 0
        # nothing a platform or a citizen sends may make the database refuse the write
        updates = [
            replace(u, key=fit(u.key, 128), chat_key=fit(u.chat_key, 96), payload=safe_json(u.payload))
            for u in updates
        ]
        if self._sanitize is not None:
            updates = [replace(u, payload=self._sanitize(u.payload)) for u in updates]
        async with self._sessions.begin() as session:
            return await insert_updates(session, updates)

    async def pending_updates(
        self, queue: str, after_id: int, limit: int, parts: Parts = None
    ) -> list[InboxUpdate]:
        async with self._sessions() as session:
            query = (
                select(InboxUpdate)
                .where(InboxUpdate.queue == queue, InboxUpdate.done.is_(False), InboxUpdate.id > after_id)
                .order_by(InboxUpdate.id)
                .limit(limit)
            )
            return list((await session.scalars(filtered(query, InboxUpdate.part, parts))).all())

    async def updates_among(self, queue: str, ids: Sequence[int], parts: Parts = None) -> list[InboxUpdate]:
        async with self._sessions() as session:
            query = select(InboxUpdate).where(
                InboxUpdate.queue == queue, InboxUpdate.done.is_(False), InboxUpdate.id.in_(list(ids))
            )
            query = filtered(query, InboxUpdate.part, parts)
            return list((await session.scalars(query.order_by(InboxUpdate.id))).all())

    async def settled_updates(self, queue: str, ids: Sequence[int], parts: list[int]) -> list[int]:
        pending = (InboxUpdate.queue == queue) & InboxUpdate.done.is_(False)
        async with self._sessions() as session:
            return list((await session.scalars(settled_ids(InboxUpdate, pending, list(ids), parts))).all())

    async def refile_pending(self, desk_chat_keys: Collection[str]) -> tuple[int, int]:
        """Pending updates filed by the chats the desk has now: the citizens' queue's updates from its
        chats go to the desk's (stored before updates were filed, or while a group was not a desk),
        the desk's from chats that are no desk any more go back. How many moved each way."""
        keys = list(desk_chat_keys)
        pending = InboxUpdate.done.is_(False)
        to_desk = update(InboxUpdate).where(
            pending, InboxUpdate.queue == CITIZENS_QUEUE, InboxUpdate.chat_key.in_(keys)
        )
        to_citizens = update(InboxUpdate).where(
            pending, InboxUpdate.queue == DESK_QUEUE, InboxUpdate.chat_key.not_in(keys)
        )
        async with self._sessions.begin() as session:
            moved = await session.execute(to_desk.values(queue=DESK_QUEUE))
            back = await session.execute(to_citizens.values(queue=CITIZENS_QUEUE))
        return _count(moved), _count(back)

    async def conversation_states(
        self, chats: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Stored engine states of several (channel, chat id) pairs in one query."""
        if not chats:
            return {}
        async with self._sessions() as session:
            query = select(Conversation.channel, Conversation.chat_id, Conversation.engine_state).where(
                tuple_(Conversation.channel, Conversation.chat_id).in_(list(chats))
            )
            rows = await session.execute(query)
            return {(str(channel), str(chat)): cast(dict[str, Any], state) for channel, chat, state in rows}

    async def record_turns(self, turns: Sequence[TurnRecord], done_ids: Sequence[int] = ()) -> set[str]:
        """Write handled updates in one transaction; returns the keys that were new.

        A key already recorded (a redelivered update) is skipped; `done_ids` are inbox rows
        finished without a turn (ignored updates). A concurrent writer of the same key makes
        the transaction fail, and the caller retries the updates one by one.
        """
        async with self._sessions.begin() as session:
            return await write_turns(session, turns, done_ids)

    async def mark_updates_done(self, update_ids: Sequence[int]) -> None:
        if not update_ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                update(InboxUpdate).where(InboxUpdate.id.in_(list(update_ids))).values(done=True)
            )

    async def pending_outbox(self, after_id: int, limit: int, parts: Parts = None) -> list[OutboxMessage]:
        async with self._sessions() as session:
            query = (
                select(OutboxMessage)
                .where(OUTBOX_PENDING, OutboxMessage.id > after_id)
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list((await session.scalars(filtered(query, OutboxMessage.part, parts))).all())

    async def outbox_among(self, ids: Sequence[int], parts: Parts = None) -> list[OutboxMessage]:
        async with self._sessions() as session:
            query = select(OutboxMessage).where(OUTBOX_PENDING, OutboxMessage.id.in_(list(ids)))
            query = filtered(query, OutboxMessage.part, parts)
            return list((await session.scalars(query.order_by(OutboxMessage.id))).all())

    async def settled_outbox(self, ids: Sequence[int], parts: list[int]) -> list[int]:
        async with self._sessions() as session:
            return list(
                (await session.scalars(settled_ids(OutboxMessage, OUTBOX_PENDING, list(ids), parts))).all()
            )

    async def mark_attempted_many(self, row_ids: Sequence[int]) -> None:
        """These replies are about to be sent: written before the call, so a crash after it leaves
        them known as possibly delivered."""
        if not row_ids:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(list(row_ids))).values(attempted=True)
            )

    async def outbox_row(self, row_id: int) -> OutboxMessage | None:
        async with self._sessions() as session:
            return await session.get(OutboxMessage, row_id, populate_existing=True)

    async def mark_sent_many(self, deliveries: Sequence[Delivery]) -> None:
        """Several delivered replies in one transaction."""
        if not deliveries:
            return
        async with self._sessions.begin() as session:
            sent = [
                {"id": d.outbox_id, "sent": True, "platform_message_id": d.platform_id} for d in deliveries
            ]
            await session.execute(*update_by_id(OutboxMessage, sent))
            messages = [
                {"id": d.message_id, "platform_message_id": d.platform_id} for d in deliveries if d.message_id
            ]
            if messages:
                await session.execute(*update_by_id(Message, messages))

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

    async def cursor(self, name: str) -> str | None:
        async with self._sessions() as session:
            row = await session.get(Cursor, name)
            return row.value if row is not None else None

    async def save_cursor(self, name: str, value: str) -> None:
        async with self._sessions.begin() as session:
            statement = upsert(session, Cursor).values(name=name, value=value, updated_at=utcnow())
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["name"], set_={"value": value, "updated_at": utcnow()}
                )
            )

    async def is_blocked(self, channel: str, external_id: str) -> bool:
        async with self._sessions() as session:
            query = select(Contact.blocked_bot).where(
                Contact.channel == channel, Contact.external_id == external_id
            )
            return bool((await session.execute(query)).scalar_one_or_none())


async def insert_updates(session: AsyncSession, updates: Sequence[NewUpdate]) -> int:
    """Store updates in the inbox within `session`; keys already there are skipped. How many were new."""
    if not updates:
        return 0
    rows = [inbox_row(u) for u in updates]
    statement = upsert(session, InboxUpdate).on_conflict_do_nothing(index_elements=["key"])
    return len((await session.execute(statement.returning(InboxUpdate.id), rows)).all())


def inbox_row(update: NewUpdate) -> dict[str, Any]:
    """The inbox table's values of an update."""
    return {
        "key": update.key,
        "channel": update.channel,
        "chat_key": update.chat_key,
        "part": partition_of(update.chat_key),
        "payload": update.payload,
        "queue": update.queue,
    }


OUTBOX_PENDING = OutboxMessage.sent.is_(False) & OutboxMessage.failed.is_(None)


def _count(result: Result[Any]) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
