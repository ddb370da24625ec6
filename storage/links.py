"""Repeated requests: open tickets found by a citizen's identifiers, and the other chats linked to them."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialog.tickets import ACTIVE, Ticket
from storage.models import TicketLink, TicketRow
from storage.ticket_rows import maybe_ticket, tickets_of_rows


class LinkStore:
    """Each method is one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def open_with(
        self, snils: str | None, phone: str | None, channel: str, chat_id: str
    ) -> list[Ticket]:
        """Open tickets of other chats with exactly this СНИЛС or phone, newest first."""
        conditions = []
        if snils:
            conditions.append(TicketRow.snils == snils)
        if phone:
            conditions.append(TicketRow.phone == phone)
        if not conditions:
            return []
        query = (
            select(TicketRow)
            .where(TicketRow.status.in_(sorted(ACTIVE)))
            .where(conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1])
            .where((TicketRow.channel != channel) | (TicketRow.chat_id != chat_id))
            .order_by(TicketRow.id.desc())
            .limit(20)
        )
        async with self._sessions() as session:
            return tickets_of_rows((await session.scalars(query)).all())

    async def link(self, ticket_id: int, channel: str, chat_id: str, user_id: str, matched: str) -> None:
        """The chat's messages go to the ticket from now on; linking twice changes nothing."""
        try:
            async with self._sessions.begin() as session:
                found = await session.scalar(
                    select(TicketLink.id).where(
                        TicketLink.ticket_id == ticket_id,
                        TicketLink.channel == channel,
                        TicketLink.chat_id == chat_id,
                    )
                )
                if found is None:
                    session.add(
                        TicketLink(
                            ticket_id=ticket_id,
                            channel=channel,
                            chat_id=chat_id,
                            user_id=user_id,
                            matched=matched,
                        )
                    )
        except IntegrityError:  # linked at the same moment by a job run twice: it is there
            return

    async def linked_open(self, channel: str, chat_id: str) -> Ticket | None:
        """The open ticket this chat was linked to, if any."""
        async with self._sessions() as session:
            query = _linked(channel, chat_id).where(TicketRow.status.in_(sorted(ACTIVE)))
            return maybe_ticket(await session.scalar(query))

    async def last_linked(self, channel: str, chat_id: str) -> Ticket | None:
        async with self._sessions() as session:
            return maybe_ticket(await session.scalar(_linked(channel, chat_id)))

    async def is_linked(self, ticket_id: int, channel: str, chat_id: str) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(TicketLink.id).where(
                    TicketLink.ticket_id == ticket_id,
                    TicketLink.channel == channel,
                    TicketLink.chat_id == chat_id,
                )
            )
            return found is not None

    async def links_of(self, ticket_id: int) -> list[TicketLink]:
        async with self._sessions() as session:
            query = select(TicketLink).where(TicketLink.ticket_id == ticket_id).order_by(TicketLink.id)
            return list((await session.scalars(query)).all())


def _linked(channel: str, chat_id: str) -> Select[TicketRow]:
    return (
        select(TicketRow)
        .join(TicketLink, TicketLink.ticket_id == TicketRow.id)
        .where(TicketLink.channel == channel, TicketLink.chat_id == chat_id)
        .order_by(TicketRow.id.desc())
        .limit(1)
    )
