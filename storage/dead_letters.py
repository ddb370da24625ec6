"""Dead letters: work given up, kept with the reason, and put back on request (`okno dlq`).

Giving up and writing the letter happen in one transaction, so a piece of work is never both
dropped and unexplained."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import DeadLetter, DeskPost, HandoffJob, InboxUpdate, OutboxMessage
from storage.records import QueuedJob, QueuedPost
from storage.safe import fit, safe_json, safe_text

_FAILED_SIZE = 250  # OutboxMessage.failed


class DeadLetterStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def give_up_update(self, row: InboxUpdate, reason: str, attempts: int) -> None:
        """The update is done with, and the letter says why."""
        async with self._sessions.begin() as session:
            await session.execute(update(InboxUpdate).where(InboxUpdate.id == row.id).values(done=True))
            await self._write(
                session, "update", row.id, row.key, row.channel, row.chat_key, reason, attempts, row.payload
            )

    async def give_up_job(self, job: QueuedJob, reason: str, attempts: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(HandoffJob).where(HandoffJob.id == job.id).values(done=True))
            chat = f"{job.channel}:{job.chat_id}"
            payload = {"kind": job.kind, **job.payload}
            await self._write(session, "job", job.id, job.key, job.channel, chat, reason, attempts, payload)

    async def give_up_reply(self, row: OutboxMessage, reason: str, attempts: int) -> None:
        """The reply stays in the outbox marked failed; the letter keeps what it said."""
        failed = fit(reason, _FAILED_SIZE)
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row.id).values(failed=failed)
            )
            chat = f"{row.channel}:{row.chat_id}"
            payload = {"text": row.text}
            await self._write(
                session, "reply", row.id, f"outbox:{row.id}", row.channel, chat, reason, attempts, payload
            )

    async def give_up_posts(self, posts: Sequence[QueuedPost], reason: str, attempts: int) -> None:
        """Posts for an operators' topic that the group refuses: done with, one letter each."""
        async with self._sessions.begin() as session:
            ids = [post.id for post in posts]
            await session.execute(update(DeskPost).where(DeskPost.id.in_(ids)).values(done=True))
            for post in posts:
                chat = f"desk:{post.desk_chat_id}"
                payload = {"kind": post.kind, "ticket_id": post.ticket_id, "text": post.text}
                payload |= {"file_ref": post.file_ref} if post.file_ref else {}
                key = f"post:{post.id}"
                await self._write(session, "post", post.id, key, "telegram", chat, reason, attempts, payload)

    async def letters(self, limit: int = 100) -> list[DeadLetter]:
        async with self._sessions() as session:
            query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
            return list((await session.scalars(query)).all())

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(DeadLetter)) or 0)

    async def letter(self, letter_id: int) -> DeadLetter | None:
        async with self._sessions() as session:
            return await session.get(DeadLetter, letter_id)

    async def retry(self, letter_id: int) -> DeadLetter | None:
        """Put the work back where its worker finds it (pending again) and remove the letter."""
        async with self._sessions.begin() as session:
            letter = await session.get(DeadLetter, letter_id)
            if letter is None:
                return None
            if letter.kind == "update":
                await session.execute(
                    update(InboxUpdate).where(InboxUpdate.id == letter.ref_id).values(done=False)
                )
            elif letter.kind == "job":
                await session.execute(
                    update(HandoffJob).where(HandoffJob.id == letter.ref_id).values(done=False)
                )
            elif letter.kind == "post":
                await session.execute(update(DeskPost).where(DeskPost.id == letter.ref_id).values(done=False))
            else:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == letter.ref_id)
                    .values(failed=None, attempted=False)  # sent again by choice
                )
            await session.execute(delete(DeadLetter).where(DeadLetter.id == letter_id))
            return letter

    async def drop(self, letter_ids: Sequence[int]) -> int:
        async with self._sessions.begin() as session:
            result = await session.execute(delete(DeadLetter).where(DeadLetter.id.in_(list(letter_ids))))
            return int(getattr(result, "rowcount", 0) or 0)

    @staticmethod
    async def _write(
        session: AsyncSession,
        kind: str,
        ref_id: int,
        key: str,
        channel: str,
        chat: str,
        reason: str,
        attempts: int,
        payload: dict[str, Any],
    ) -> None:
        await session.execute(
            insert(DeadLetter).values(
                kind=kind,
                ref_id=ref_id,
                key=fit(key, 160),
                channel=fit(channel, 32),
                chat=fit(chat, 96),
                reason=safe_text(reason),
                attempts=attempts,
                payload=safe_json(payload),
            )
        )
