"""`okno privacy` reaches a citizen's linked chats: another chat whose repeated request joined their
open ticket (matched by СНИЛС or phone) is the same person — forgetting either side anonymizes both
chats and the ticket, exporting either side shows both, and a third citizen is left alone."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.links import LinkStore
from storage.models import (
    Contact,
    Conversation,
    DeadLetter,
    HandoffJob,
    InboxUpdate,
    Message,
    OutboxMessage,
    PersonalDataAccess,
    TicketRow,
    WebFile,
)
from storage.privacy import FORGOTTEN_PAYLOAD, MARKER
from storage.privacy_store import PrivacyStore
from tests.integration.privacy_helpers import NOW, OLD, RECENT, SECRET, chat_of, citizen

A = ("telegram", "111")  # opened ticket L-1
B = ("web", "w-2")  # the same citizen later, on the web: the repeated request joined L-1
C = ("telegram", "333")  # somebody else, with ticket L-3


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        _, ticket = await citizen(session, *A, RECENT, "L-1")
        await chat_of(session, *B, RECENT, "L-2")
        await citizen(session, *C, RECENT, "L-3")
        session.add(
            DeadLetter(
                kind="update", ref_id=1, key="web:dead", channel="web", chat="web:w-2", reason="x",
                attempts=5, payload={"text": SECRET},
            )
        )  # fmt: skip
    await LinkStore(sessions).link(ticket.id, "web", "w-2", "w-2", "snils")


async def chat_data(sessions: async_sessionmaker[AsyncSession], channel: str, chat: str) -> dict[str, Any]:
    """What is stored of one chat: its contact's name, messages, queue rows, files and tickets."""
    key = f"{channel}:{chat}"
    async with sessions() as session:
        contact = await session.scalar(
            select(Contact).where(Contact.channel == channel, Contact.external_id == chat)
        )
        assert contact is not None
        messages = select(Message.text).join(Conversation, Message.conversation_id == Conversation.id)
        of_chat = (Conversation.channel == channel) & (Conversation.chat_id == chat)

        async def values(column: Any, *where: Any) -> list[Any]:
            return list(await session.scalars(select(column).where(*where)))

        return {
            "name": contact.display_name,
            "forgotten": contact.forgotten_at is not None,
            "messages": list(await session.scalars(messages.where(of_chat).order_by(Message.id))),
            "updates": await values(InboxUpdate.payload, InboxUpdate.chat_key == key),
            "replies": await values(OutboxMessage.text, OutboxMessage.chat_id == chat),
            "jobs": await values(HandoffJob.payload, HandoffJob.chat_id == chat),
            "dead": await values(DeadLetter.payload, DeadLetter.chat == key),
            "files": len(await values(WebFile.ref, WebFile.chat_id == chat)),
            "tickets": await values(
                TicketRow.description, TicketRow.channel == channel, TicketRow.chat_id == chat
            ),
        }


def forgotten(data: dict[str, Any]) -> bool:
    return (
        data["name"] == MARKER
        and data["forgotten"]
        and set(data["messages"]) == {MARKER}
        and data["updates"] == [FORGOTTEN_PAYLOAD]
        and data["replies"] == [MARKER]
        and data["jobs"] == [FORGOTTEN_PAYLOAD]
        and all(payload == FORGOTTEN_PAYLOAD for payload in data["dead"])
        and data["files"] == 0
        and set(data["tickets"]) <= {MARKER}
    )


async def test_forgetting_a_citizen_forgets_the_chat_linked_to_their_ticket(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    linked, other = await chat_data(sessions, *B), await chat_data(sessions, *C)
    assert linked["messages"] == [SECRET, "Ответ"] and linked["files"] == 1 and linked["dead"]
    store = PrivacyStore(sessions)
    assert await store.forget(*A, "dpo")
    assert forgotten(await chat_data(sessions, *A))
    assert forgotten(await chat_data(sessions, *B))  # the same person, in another chat
    assert await chat_data(sessions, *C) == other
    assert await store.forget(*A, "dpo")  # again: the same
    assert forgotten(await chat_data(sessions, *B)) and await chat_data(sessions, *C) == other
    logged = [a.subject for a in await store.accesses(None, None, 10)]
    assert sorted(logged) == ["telegram:111", "telegram:111", "web:w-2", "web:w-2"]


async def test_forgetting_the_linked_chat_reaches_the_ticket_it_joined(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    other = await chat_data(sessions, *C)
    assert await PrivacyStore(sessions).forget(*B, "dpo")
    assert forgotten(await chat_data(sessions, *B))
    opened = await chat_data(sessions, *A)
    assert opened["tickets"] == [MARKER]  # B's messages were relayed into A's ticket
    assert forgotten(opened)
    assert await chat_data(sessions, *C) == other
    async with sessions() as session:
        ticket = await session.scalar(select(TicketRow).where(TicketRow.number == "L-1"))
        assert ticket is not None and (ticket.snils, ticket.transcript, ticket.status) == (None, [], "closed")


async def test_export_shows_the_linked_chats_and_how_they_matched(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    store = PrivacyStore(sessions)
    data = await store.export(*B, "dpo", with_files=False)
    assert data is not None and data["tickets"] == []
    [link] = data["linked"]["chats"]
    assert {k: link[k] for k in ("ticket", "ticket_chat", "linked_chat", "matched")} == {
        "ticket": "L-1",
        "ticket_chat": "telegram:111",
        "linked_chat": "web:w-2",
        "matched": "snils",
    }
    assert "11223344595" not in json.dumps(link) and "445 95" not in json.dumps(link)
    [ticket] = data["linked"]["tickets"]
    assert ticket["number"] == "L-1" and ticket["description"] == SECRET
    [chat] = data["linked"]["conversations"]
    assert (chat["channel"], chat["chat_id"], len(chat["messages"])) == ("telegram", "111", 2)
    assert [c["external_id"] for c in data["linked"]["contacts"]] == ["111"]

    data = await store.export(*A, "dpo", with_files=False)
    assert data is not None
    chats = {(c["linked_chat"], c["matched"]) for c in data["linked"]["chats"]}
    assert chats == {("web:w-2", "snils"), ("vk:55", "snils")}
    [chat] = data["linked"]["conversations"]
    assert chat["chat_id"] == "w-2" and chat["messages"][0]["text"] == SECRET
    assert [f["chat_id"] for f in data["files"]] == ["w-2"]
    assert "L-3" not in json.dumps(data) and "333" not in json.dumps(data)  # nobody else's
    async with sessions() as session:
        logged = await session.scalars(select(PersonalDataAccess.subject).order_by(PersonalDataAccess.id))
        assert list(logged) == ["web:w-2", "telegram:111", "telegram:111", "web:w-2"]


async def test_the_retention_purge_leaves_a_recent_linked_chat_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The purge is for what is old: a linked chat still in use waits for its own period."""
    async with sessions.begin() as session:
        _, ticket = await citizen(session, *A, OLD, "L-1")
        await chat_of(session, *B, RECENT, "L-2")
    await LinkStore(sessions).link(ticket.id, "web", "w-2", "w-2", "phone")
    recent = await chat_data(sessions, *B)
    assert await PrivacyStore(sessions, clock=lambda: NOW).purge(365) == 1
    assert forgotten(await chat_data(sessions, *A))
    assert await chat_data(sessions, *B) == recent
