"""The handoff worker on SQLite and PostgreSQL: tickets routed by category, callbacks, and repeated
requests that land in the open ticket — from the same chat, or from another chat of the same citizen
proved by an exactly matching СНИЛС or phone."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialog.knowledge import load_knowledge
from dialog.tickets import Status, Ticket
from handoff.config import HandoffConfig
from handoff.hours import load_calendar, schedules
from handoff.service import HandoffService
from handoff.tracking import Tracker
from storage.models import DeskPost, HandoffJob, InboxUpdate, OutboxMessage
from storage.records import TicketChange
from storage.tickets import TicketStore

DESK, ACCOUNT, SPECIALISTS = "-1001500", "-1001600", "-1001900"
IN_HOURS = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 11:00 in Moscow, a Thursday
SNILS, OTHER_SNILS, PHONE = "112-233-445 95", "112-233-446 96", "+79123456789"
_keys = itertools.count(1)


@pytest.fixture
def service(store: TicketStore) -> HandoffService:
    config = HandoffConfig(desk_chats=(DESK,), specialist_chat=SPECIALISTS, routes={"account": (ACCOUNT,)})
    hours = schedules(load_knowledge().facts, load_calendar())
    tracker = Tracker(store, config, lambda: None)
    return HandoffService(store, config, hours, tracker, lambda: IN_HOURS, lambda: None)


def job(kind: str, channel: str, chat: str, payload: dict[str, Any]) -> HandoffJob:
    key = next(_keys)
    return HandoffJob(
        id=key, key=f"test:{key}:0", channel=channel, chat_id=chat, user_id=chat, kind=kind, payload=payload
    )


def request(description: str = "", **identification: str) -> dict[str, Any]:
    return {
        "rule": "explicit_request",
        "level": 2,
        "priority": 100,
        "identification": identification,
        "description": description,
    }


def callback(phone: str, time: str = "после 18", **fields: Any) -> dict[str, Any]:
    return (
        request(phone=phone)
        | {"rule": "callback_request", "kind": "callback", "callback_time": time}
        | fields
    )


async def told(sessions: async_sessionmaker[AsyncSession], chat: str) -> list[str]:
    async with sessions() as session:
        query = select(OutboxMessage.text).where(OutboxMessage.chat_id == chat).order_by(OutboxMessage.id)
        return list((await session.scalars(query)).all())


async def posted(sessions: async_sessionmaker[AsyncSession], ticket: Ticket) -> list[str]:
    async with sessions() as session:
        query = select(DeskPost.text).where(DeskPost.ticket_id == ticket.id).order_by(DeskPost.id)
        return list((await session.scalars(query)).all())


async def only_ticket(store: TicketStore, channel: str, chat: str) -> Ticket:
    (ticket,) = await store.tickets_of(channel, chat)
    return ticket


async def test_tickets_go_to_the_experts_of_their_category(
    service: HandoffService, store: TicketStore
) -> None:
    await service.handle(job("open", "telegram", "1", request() | {"category": "account"}))
    await service.handle(job("open", "telegram", "2", request() | {"category": "services"}))
    await service.handle(job("open", "telegram", "3", request() | {"category": "account", "level": 3}))
    routed = [(await only_ticket(store, "telegram", chat)).desk_chat_id for chat in "123"]
    assert routed == [ACCOUNT, DESK, SPECIALISTS]


async def test_a_callback_ticket_keeps_the_number_and_the_time(
    service: HandoffService, store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    payload = callback(PHONE) | {"category": "account", "category_title": "Регистрация и вход"}
    await service.handle(job("open", "telegram", "1", payload))
    ticket = await only_ticket(store, "telegram", "1")
    assert (ticket.kind, ticket.phone, ticket.callback_time) == ("callback", PHONE, "после 18")
    assert ticket.category_title == "Регистрация и вход" and ticket.desk_chat_id == ACCOUNT
    (message,) = await told(sessions, "1")
    assert f"№ {ticket.number}" in message and "позвонит на номер +7 912 345-67-89" in message
    assert "1-й в очереди" in message and "«после 18»" in message


async def test_a_request_from_another_channel_with_the_same_snils_joins_the_open_ticket(
    service: HandoffService, store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await service.handle(
        job("open", "telegram", "701", request("отказ без причин", snils=SNILS, phone=PHONE))
    )
    first = await only_ticket(store, "telegram", "701")
    assert (first.snils, first.phone) == ("11223344595", PHONE)
    await service.handle(
        job("open", "vk", "3201", request("не могу подписать заявление", snils="11223344595"))
    )
    assert await store.tickets_of("vk", "3201") == []  # no second ticket
    linked = await store.links.linked_open("vk", "3201")
    assert linked is not None and linked.id == first.id
    (notice,) = await told(sessions, "3201")
    assert f"№ {first.number} уже в работе" in notice and "в Telegram" in notice
    posts = await posted(sessions, first)
    assert any("Повторное обращение из ВКонтакте (совпал СНИЛС)" in p for p in posts)
    assert "👤 Гражданин (ВКонтакте): не могу подписать заявление" in posts
    notes = [e.note for e in await store.events(first.id)]
    assert "повторное обращение из ВКонтакте" in notes
    # what the citizen writes in VK goes to the ticket, marked with its channel
    await service.handle(job("relay", "vk", "3201", {"text": "вот ещё подробности", "files": []}))
    assert "👤 Гражданин (ВКонтакте): вот ещё подробности" in await posted(sessions, first)
    # and the ticket's status can be asked there by its number
    await service.handle(job("status", "vk", "3201", {"number": first.number}))
    assert f"Обращение № {first.number}: новое" in (await told(sessions, "3201"))[-1]


async def test_only_an_exact_identifier_joins_and_another_snils_vetoes_a_shared_phone(
    service: HandoffService, store: TicketStore
) -> None:
    await service.handle(job("open", "telegram", "701", request(snils=SNILS, phone=PHONE)))
    first = await only_ticket(store, "telegram", "701")
    # the same phone, but another person's СНИЛС: a family sharing a phone
    await service.handle(job("open", "vk", "1", request(snils=OTHER_SNILS, phone=PHONE)))
    await service.handle(job("open", "web", "2", request(phone="+79123456780")))  # one digit off
    await service.handle(job("open", "web", "3", request()))  # nothing to match
    for channel, chat in (("vk", "1"), ("web", "2"), ("web", "3")):
        assert (await only_ticket(store, channel, chat)).id != first.id
    # the shared phone alone: two people have tickets open with it, whose is it? Nobody's
    await service.handle(job("open", "web", "4", request(phone="8 (912) 345-67-89")))
    assert await store.links.linked_open("web", "4") is None
    # the СНИЛС, written another way, says whose
    await service.handle(job("open", "web", "5", request(snils="11223344595", phone=PHONE)))
    assert await store.tickets_of("web", "5") == []
    linked = await store.links.linked_open("web", "5")
    assert linked is not None and linked.id == first.id


async def test_asking_again_in_the_same_chat_lands_in_the_open_ticket(
    service: HandoffService, store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await service.handle(job("open", "telegram", "701", callback(PHONE)))
    ticket = await only_ticket(store, "telegram", "701")
    # the conversation forgot its handoff (its state was lost): the open ticket is found by the chat
    await service.handle(job("open", "telegram", "701", request("так и не решили вопрос с отказом")))
    await service.handle(job("relay", "telegram", "701", {"text": "позовите оператора", "repeat": "x"}))
    assert (await only_ticket(store, "telegram", "701")).id == ticket.id
    notices = (await told(sessions, "701"))[1:]
    assert len(notices) == 2
    assert all(f"заявка на обратный звонок № {ticket.number} уже в работе" in n for n in notices)
    posts = await posted(sessions, ticket)
    assert "👤 Гражданин: так и не решили вопрос с отказом" in posts
    assert "👤 Гражданин: позовите оператора" in posts
    assert sum("снова просит оператора в этом же чате" in p for p in posts) == 2


async def test_a_linked_chat_goes_back_to_the_bot_once_the_ticket_is_closed(
    service: HandoffService, store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await service.handle(job("open", "web", "w1", request()))  # a ticket of its own, long closed
    (old,) = await store.tickets_of("web", "w1")
    await service.tracker.change(old.id, lambda row: TicketChange(row, replace(row, status=Status.CLOSED)))
    await service.handle(job("open", "telegram", "701", request(phone=PHONE)))
    ticket = await only_ticket(store, "telegram", "701")
    await service.handle(job("open", "web", "w1", callback(PHONE)))  # asks for a call this time
    assert any("просит обратный звонок: +7 912 345-67-89" in p for p in await posted(sessions, ticket))
    notice = (await told(sessions, "w1"))[-1]
    assert (
        "придёт туда же — в Telegram" in notice and "Просьбу перезвонить на номер +7 912 345-67-89" in notice
    )

    def close(row: Ticket) -> TicketChange:
        return TicketChange(row, replace(row, status=Status.CLOSED))

    await service.tracker.change(ticket.id, close)
    await service.handle(job("relay", "web", "w1", {"text": "ну что там?", "files": []}))
    assert "Обращение уже закрыто" in (await told(sessions, "w1"))[-1]
    async with sessions() as session:
        events = (await session.scalars(select(InboxUpdate.payload))).all()
    assert {"kind": "closed", "ticket": ticket.number, "chat_id": "w1", "user_id": "w1"} in [
        e.get("okno_event") for e in events
    ]


async def test_a_callback_request_reopens_a_ticket_solved_days_ago_as_a_callback(
    service: HandoffService, store: TicketStore, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await service.handle(job("open", "telegram", "701", request("отказ без причин")))
    ticket = await only_ticket(store, "telegram", "701")

    def solve(status: str) -> Any:
        def change(row: Ticket) -> TicketChange:
            return TicketChange(row, replace(row, status=Status(status), resolved_at=IN_HOURS))

        return change

    await service.tracker.change(ticket.id, solve("in_progress"))
    await service.tracker.change(ticket.id, solve("resolved"))
    await service.handle(job("open", "telegram", "701", callback(PHONE, "завтра утром")))
    reopened = await only_ticket(store, "telegram", "701")
    assert (reopened.status, reopened.kind, reopened.phone) == ("new", "callback", PHONE)
    assert reopened.callback_time == "завтра утром"
    assert "позвонит на номер +7 912 345-67-89" in (await told(sessions, "701"))[-1]
    notes = [event.note for event in await store.events(ticket.id)]
    assert notes[-1] == "повторное обращение"
