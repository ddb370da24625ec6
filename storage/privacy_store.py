"""Personal data over the database: export, forget, the retention purge and the access log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Contact, Conversation, PersonalDataAccess, TicketRow, utcnow
from storage.privacy import Subject, anonymize, export, find_contact, subject_of

logger = logging.getLogger("okno.storage.privacy")

PURGE_BATCH = 100


@dataclass(frozen=True)
class Access:
    """One line of the access log."""

    at: datetime
    actor: str
    action: str
    subject: str
    contact_id: int | None


class PrivacyStore:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self.clock = clock

    async def export(
        self, channel: str, external_id: str, actor: str, with_files: bool
    ) -> dict[str, Any] | None:
        """Everything about the citizen (None: nobody by that id), logged as an export by `actor`."""
        async with self._sessions.begin() as session:
            contact = await find_contact(session, channel, external_id)
            if contact is None:
                return None
            subject = await subject_of(session, contact)
            found = await export(session, subject, with_files)
            self._log_all(session, actor, "export", subject)
        return found

    async def forget(self, channel: str, external_id: str, actor: str) -> bool:
        """Anonymize the citizen; False when nobody has that id. Running it again changes nothing."""
        async with self._sessions.begin() as session:
            contact = await find_contact(session, channel, external_id)
            if contact is None:
                return False
            subject = await subject_of(session, contact)
            await anonymize(session, subject, self.clock())
            self._log_all(session, actor, "forget", subject)
        return True

    async def stale(self, days: float) -> list[int]:
        """Contacts with nothing new for `days`: no conversation or ticket activity since, and not
        anonymized since either."""
        cutoff = self.clock() - timedelta(days=days)
        recent_chat = exists().where(
            Conversation.contact_id == Contact.id, Conversation.last_activity_at >= cutoff
        )
        recent_ticket = exists().where(
            or_(
                TicketRow.contact_id == Contact.id,
                (TicketRow.channel == Contact.channel) & (TicketRow.user_id == Contact.external_id),
            ),
            TicketRow.status_changed_at >= cutoff,
        )
        query = select(Contact.id).where(
            Contact.created_at < cutoff,
            or_(Contact.forgotten_at.is_(None), Contact.forgotten_at < cutoff),
            ~recent_chat,
            ~recent_ticket,
        )
        async with self._sessions() as session:
            return list(await session.scalars(query.order_by(Contact.id)))

    async def purge(self, days: float, progress: Callable[[int, int], None] | None = None) -> int:
        """Anonymize every stale contact, a batch per transaction; how many. Only the contact's own
        chats and tickets: a chat linked to them has its own contact, purged when it is stale itself."""
        ids = await self.stale(days)
        for start in range(0, len(ids), PURGE_BATCH):
            async with self._sessions.begin() as session:
                for contact_id in ids[start : start + PURGE_BATCH]:
                    contact = await session.get(Contact, contact_id)
                    if contact is not None:
                        own = await subject_of(session, contact, linked=False)
                        await anonymize(session, own, self.clock())
                        self._log_all(session, "retention", "purge", own)
            if progress is not None:
                progress(min(start + PURGE_BATCH, len(ids)), len(ids))
        return len(ids)

    async def record_view(self, actor: str, ticket: str, channel: str, external_id: str) -> None:
        """Log that `actor` saw a ticket of this citizen unmasked (its page in the web inbox)."""
        async with self._sessions.begin() as session:
            contact = await find_contact(session, channel, external_id)
            self._log(session, actor, "view", ticket, contact.id if contact is not None else None)

    async def accesses(self, channel: str | None, external_id: str | None, limit: int) -> list[Access]:
        """The newest lines of the log, all or one citizen's."""
        query = select(PersonalDataAccess).order_by(
            PersonalDataAccess.at.desc(), PersonalDataAccess.id.desc()
        )
        async with self._sessions() as session:
            if channel is not None and external_id is not None:
                contact = await find_contact(session, channel, external_id)
                contact_id = contact.id if contact is not None else None
                query = query.where(
                    or_(
                        PersonalDataAccess.contact_id == contact_id,
                        PersonalDataAccess.subject == f"{channel}:{external_id}",
                    )
                )
            rows = await session.scalars(query.limit(limit))
            return [Access(r.at, r.actor, r.action, r.subject, r.contact_id) for r in rows]

    async def count_accesses(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(PersonalDataAccess)) or 0)

    def _log_all(self, session: AsyncSession, actor: str, action: str, subject: Subject) -> None:
        """A line for the citizen's contact and one for each of their linked chats' contacts."""
        for contact in subject.contacts:
            self._log(session, actor, action, f"{contact.channel}:{contact.external_id}", contact.id)

    def _log(
        self, session: AsyncSession, actor: str, action: str, subject: str, contact_id: int | None
    ) -> None:
        session.add(
            PersonalDataAccess(
                actor=actor[:128],
                action=action,
                subject=subject[:160],
                contact_id=contact_id,
                at=self.clock(),
            )
        )
