"""Repeated requests: a citizen who asks for people again while their ticket is open lands in it.

«Не отправляйте несколько одинаковых запросов… уточните детали в уже открытой теме» (seed 002).
In the same chat the ticket is found by the chat. From another chat — another messenger, or the
web chat in another browser — only by an identifier given at intake that matches exactly: the
СНИЛС, or the mobile phone (normalized). A phone shared by people with different СНИЛС joins
nothing: the СНИЛС tells them apart or, not given, leaves it unknown whose ticket it is. The other
chat is then linked to the ticket: what the citizen writes there goes to the ticket's topic marked
with its channel; operators' answers go to the chat the ticket was opened in, as the citizen is told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from dialog.identification import display_phone, phone, snils_key
from dialog.messages import TicketKind
from dialog.tickets import Ticket
from handoff import texts
from handoff.cards import citizen_post, is_callback, system_post
from handoff.ports import TicketRepository
from handoff.tracking import Tracker
from storage.records import CitizenMessage, EventRecord, PostRecord, QueuedJob, TicketChange

logger = logging.getLogger("okno.handoff.repeats")

CALLBACK_RULE = "callback_request"


@dataclass(frozen=True, slots=True)
class Identifiers:
    """What identifies the citizen across channels, normalized; None when not given or not valid."""

    snils: str | None
    phone: str | None

    @classmethod
    def of(cls, identification: dict[str, Any]) -> Identifiers:
        given_snils = str(identification.get("snils") or "")
        given_phone = str(identification.get("phone") or "")
        return cls(
            snils_key(given_snils) if given_snils else None,
            phone(given_phone) if given_phone else None,
        )


def matched(ticket: Ticket, ours: Identifiers) -> str | None:
    """What proves the ticket is this citizen's: the same СНИЛС, or the same phone when no СНИЛС
    on either side says otherwise."""
    if ours.snils and ticket.snils == ours.snils:
        return "snils"
    different_people = bool(ours.snils and ticket.snils and ticket.snils != ours.snils)
    if ours.phone and ticket.phone == ours.phone and not different_people:
        return "phone"
    return None


def already_open(ticket: Ticket, job: QueuedJob) -> CitizenMessage:
    """«Ваше обращение № … уже в работе», said in the ticket's own chat or in another one; a request
    for a call that joins a ticket answered in a chat is passed on, and the citizen hears so."""
    number, phone_text = ticket.number, display_phone(ticket.phone or "")
    if (ticket.channel, ticket.chat_id) == (job.channel, job.chat_id):
        if is_callback(ticket):
            text = texts.ALREADY_OPEN_CALLBACK.format(number=number, phone=phone_text)
        else:
            text = texts.ALREADY_OPEN.format(number=number)
    else:
        answer = (
            texts.ANSWER_BY_PHONE.format(phone=phone_text)
            if is_callback(ticket)
            else texts.ANSWER_THERE.format(to=texts.CHANNEL_TO.get(ticket.channel, ticket.channel))
        )
        where = texts.CHANNEL_WHERE.get(ticket.channel, ticket.channel)
        text = texts.ALREADY_OPEN_ELSEWHERE.format(number=number, where=where, answer=answer)
    if asks_for_a_call(job.payload) and not is_callback(ticket):
        number_to_call = _phone_of(job.payload)
        on = texts.ON_NUMBER.format(phone=display_phone(number_to_call)) if number_to_call else ""
        text += texts.CALLBACK_ASKED.format(on=on)
    return CitizenMessage(text, outcome="handoff")


def asks_for_a_call(payload: dict[str, Any]) -> bool:
    return CALLBACK_RULE in (payload.get("rule"), payload.get("repeat"))


def _phone_of(payload: dict[str, Any]) -> str | None:
    identification = payload.get("identification") or {}
    given = identification.get("phone") if isinstance(identification, dict) else None
    return phone(str(given)) if given else None


def callback_note(payload: dict[str, Any]) -> str:
    """For the topic: a repeated request that asks for a call, with the number and the time if known."""
    number = _phone_of(payload)
    details = ""
    if number:
        time = str(payload.get("callback_time") or "") or "не указано"
        details = texts.CALLBACK_DETAILS.format(phone=display_phone(number), time=time)
    return texts.REPEAT_CALLBACK.format(details=details)


def as_callback(ticket: Ticket, payload: dict[str, Any]) -> Ticket | None:
    """The ticket made a callback, when the request asks for a call; None when it does not."""
    if payload.get("kind") != TicketKind.CALLBACK:
        return None
    identification = payload.get("identification") or {}
    ours = Identifiers.of(identification if isinstance(identification, dict) else {})
    if ours.phone is None:
        return None
    time = str(payload.get("callback_time") or "") or None
    return replace(ticket, kind=TicketKind.CALLBACK, callback_time=time, phone=ours.phone)


class Repeats:
    def __init__(self, store: TicketRepository, tracker: Tracker, masked: bool = True) -> None:
        self.store = store
        self.tracker = tracker
        self.masked = masked  # the operators' group sees personal data in citizens' words masked

    async def twin(self, job: QueuedJob) -> tuple[Ticket, str] | None:
        """An open ticket of another chat that is this citizen's, and what matched."""
        identification = job.payload.get("identification") or {}
        ours = Identifiers.of(identification if isinstance(identification, dict) else {})
        candidates = await self.store.links.open_with(ours.snils, ours.phone, job.channel, job.chat_id)
        found = [(ticket, how) for ticket in candidates if (how := matched(ticket, ours)) is not None]
        by_snils = [pair for pair in found if pair[1] == "snils"]
        if by_snils:
            return by_snils[0]
        people = {ticket.snils for ticket, _ in found if ticket.snils}
        if len(people) > 1:  # the phone of two people with tickets open: whose it is, nobody can say
            logger.info("a repeated request matched the phone of %d people; a ticket of its own", len(people))
            return None
        return found[0] if found else None

    async def join(self, job: QueuedJob, ticket: Ticket, how: str) -> None:
        """The other chat joins the ticket: linked, shown in its topic and history."""
        await self.store.links.link(ticket.id, job.channel, job.chat_id, job.user_id, how)
        channel = texts.CHANNEL_FROM.get(job.channel, job.channel)
        origin = texts.CHANNEL_TO.get(ticket.channel, ticket.channel)
        note = texts.REPEAT_FROM.format(channel=channel, matched=texts.MATCHED[how], origin=origin)
        posts = [PostRecord("text", system_post(note))]
        if asks_for_a_call(job.payload):
            posts.append(PostRecord("text", system_post(callback_note(job.payload))))
        if description := str(job.payload.get("description") or ""):
            posts.append(PostRecord("text", citizen_post(description, job.channel, self.masked)))

        def joined(row: Ticket) -> TicketChange:
            said = texts.REPEAT_EVENT.format(channel=channel)
            event = EventRecord("citizen", None, row.status, row.level, note=said)
            return TicketChange(row, event=event, posts=posts)

        await self.tracker.change(ticket.id, joined)
        logger.info("a repeated request from %s joined ticket %s (%s matched)", job.channel, ticket.id, how)

    async def again(self, ticket: Ticket, payload: dict[str, Any], same_chat: bool) -> None:
        """Asked for people again (or a callback) while the ticket is open: its people are told."""
        notes = [texts.REPEAT_SAME_CHAT] if same_chat else []
        if asks_for_a_call(payload):
            notes.append(callback_note(payload))
        if notes:
            await self.store.post(ticket, [PostRecord("text", system_post(note)) for note in notes])
