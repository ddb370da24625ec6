"""The citizen's other chats: a repeated request from another chat joins their open ticket when the
СНИЛС or phone matches exactly (a TicketLink), so those chats are the same person's and their data is
theirs too.

One step each way is followed: the chats linked to the citizen's tickets, and the tickets the
citizen's chats were linked to — with those chats' conversations and contacts. The chats linked to
those in turn are not: they are reached from their own contacts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Conversation, TicketLink, TicketRow

Chat = tuple[str, str]


@dataclass(frozen=True)
class Linked:
    """What the links add to a citizen's own conversations and tickets."""

    links: tuple[TicketLink, ...] = ()  # to their tickets from other chats, and from their chats
    tickets: tuple[TicketRow, ...] = ()  # other chats' tickets their chats were linked to
    conversations: tuple[Conversation, ...] = ()  # of the linked chats
    contacts: tuple[Contact, ...] = ()  # the same person in the linked chats

    @property
    def chats(self) -> set[Chat]:
        found = {(link.channel, link.chat_id) for link in self.links}
        found |= {(t.channel, t.chat_id) for t in self.tickets}
        return found | {(c.channel, c.chat_id) for c in self.conversations}

    def described(self, numbers: dict[int, str | None]) -> list[dict[str, Any]]:
        """Which chats are linked to which ticket and how they matched ("snils" or "phone"); the
        identifier itself is not repeated here. `numbers`: ticket numbers by id."""
        chats = {t.id: f"{t.channel}:{t.chat_id}" for t in self.tickets}
        return [
            {
                "ticket": numbers.get(link.ticket_id),
                "ticket_chat": chats.get(link.ticket_id),
                "linked_chat": f"{link.channel}:{link.chat_id}",
                "linked_user": link.user_id,
                "matched": link.matched,
                "linked_at": link.created_at.isoformat(),
            }
            for link in self.links
        ]


async def linked_to(
    session: AsyncSession,
    contact: Contact,
    conversations: Iterable[Conversation],
    tickets: Iterable[TicketRow],
) -> Linked:
    """The chats, tickets and contacts linked to the citizen's own conversations and tickets."""
    own_chats = {(c.channel, c.chat_id) for c in conversations}
    own_tickets = {t.id for t in tickets}
    to_theirs = await _all(session, TicketLink, TicketLink.ticket_id.in_(sorted(own_tickets)))
    from_theirs = await _all(
        session,
        TicketLink,
        _chat_in(TicketLink.channel, TicketLink.chat_id, own_chats),
        (TicketLink.channel == contact.channel) & (TicketLink.user_id == contact.external_id),
    )
    links = {link.id: link for link in (*to_theirs, *from_theirs)}
    other_ids = sorted({link.ticket_id for link in from_theirs} - own_tickets)
    other_tickets = await _all(session, TicketRow, TicketRow.id.in_(other_ids))
    chats = {(link.channel, link.chat_id) for link in to_theirs}
    chats |= {(t.channel, t.chat_id) for t in other_tickets}
    chats -= own_chats
    other_conversations = await _all(
        session, Conversation, _chat_in(Conversation.channel, Conversation.chat_id, chats)
    )
    users = {(link.channel, link.user_id) for link in to_theirs} | {
        (t.channel, t.user_id) for t in other_tickets
    }
    contact_ids = {c.contact_id for c in other_conversations} | {t.contact_id for t in other_tickets}
    contacts = await _all(
        session,
        Contact,
        Contact.id.in_(sorted(i for i in contact_ids if i is not None)),
        _chat_in(Contact.channel, Contact.external_id, users),
    )
    return Linked(
        links=tuple(sorted(links.values(), key=lambda link: link.id)),
        tickets=tuple(other_tickets),
        conversations=tuple(other_conversations),
        contacts=tuple(c for c in contacts if c.id != contact.id),
    )


def _chat_in(channel: Any, chat: Any, chats: set[Chat]) -> ColumnElement[bool]:
    """(channel, chat) is one of `chats`; false for none, without an empty IN."""
    return tuple_(channel, chat).in_(sorted(chats)) if chats else false()


async def _all(session: AsyncSession, model: Any, *conditions: ColumnElement[bool]) -> list[Any]:
    """The rows of `model` meeting any of the conditions, by id."""
    query = select(model).where(or_(*conditions)).order_by(model.id)
    return list(await session.scalars(query))
