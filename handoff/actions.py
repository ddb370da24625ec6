"""The operators' side: buttons on ticket cards and messages written in tickets' topics."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from dialog.messages import TicketEventKind
from dialog.splitting import split_text
from dialog.tickets import Level, Status, Ticket
from handoff import texts
from handoff.canned import CannedReplies
from handoff.cards import system_post
from handoff.config import HandoffConfig
from handoff.errors import DeskError
from handoff.ports import Desk, DeskEvent, DeskMessage, DeskPress, TicketRepository
from handoff.post_plan import PRESSED
from handoff.tracking import Tracker, finishing
from storage.records import CitizenMessage, EventRecord, PostRecord, TicketChange
from storage.web import WebStore

logger = logging.getLogger("okno.handoff.actions")

NOTE_PREFIXES = ("!", "/note")
DESK_SOURCE = "telegram"  # operators' files are Telegram file ids; other channels fetch them first
CITIZEN_TEXT_LIMIT = 4000  # under every messenger's limit, with room for nothing else
TEMPLATE = "tpl"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on a ticket: a Telegram user id, or "web:<login>" for the web inbox."""

    user_id: str
    name: str


class OperatorActions:
    def __init__(
        self,
        store: TicketRepository,
        desk: Desk | None,
        config: HandoffConfig,
        tracker: Tracker,
        canned: CannedReplies,
        clock: Callable[[], datetime],
        notes: WebStore | None = None,
    ) -> None:
        self.store = store
        self.desk = desk
        self.config = config
        self.tracker = tracker
        self.canned = canned
        self.clock = clock
        self.notes = notes  # where private notes are kept, so the web inbox shows them too

    async def handle(self, event: DeskEvent) -> None:
        if isinstance(event, DeskPress):
            await self._press(event)
        else:
            await self._message(event)

    # Who may act

    async def allowed(self, user_id: str, chat_id: str, level: int) -> bool:
        config = self.config
        if user_id in config.supervisors:
            return True
        if level >= Level.SPECIALIST and config.specialists:
            return user_id in config.specialists
        if level >= Level.SPECIALIST and config.specialist_chat:  # specialists: members of their group
            return await self._member(config.specialist_chat, user_id)
        if config.operators:
            return user_id in config.operators or user_id in config.specialists
        return await self._member(chat_id, user_id)

    async def _member(self, chat_id: str, user_id: str) -> bool:
        if self.desk is None:
            return False
        try:
            return await self.desk.is_member(chat_id, user_id)
        except DeskError:
            logger.warning("membership of %s could not be checked; the action is refused", user_id)
            return False

    # Buttons

    async def _press(self, press: DeskPress) -> None:
        desk = self.desk
        if desk is None:  # presses come only from the operators' group, which has a desk
            return
        ticket = await self.store.ticket(press.ticket_id)
        if ticket is None or ticket.desk_chat_id != press.chat_id:
            await desk.answer(press.callback_id, texts.TICKET_UNKNOWN, alert=True)
            return
        if not await self.allowed(press.user_id, press.chat_id, ticket.level):
            logger.info(
                "user %s pressed %s on ticket %s without the right", press.user_id, press.action, ticket.id
            )
            await desk.answer(press.callback_id, texts.NOT_ALLOWED, alert=True)
            return
        if press.action == "templates":
            answer = await self._templates(ticket)
        else:
            answer = await self.act(
                Actor(press.user_id, press.user_name), ticket, press.action, press.argument
            )
        await desk.answer(
            press.callback_id,
            answer or "",
            alert=bool(answer and answer != texts.YOU_TOOK.format(number=ticket.number)),
        )

    async def act(self, actor: Actor, ticket: Ticket, action: str, argument: str = "") -> str | None:
        """Take, transfer, ask, resolve or send a canned reply; what to tell the actor, if anything.
        The caller has checked that the actor may act on this ticket."""
        actions = {
            "take": self._take,
            "transfer": self._transfer,
            "ask": self._ask,
            "resolve": self._resolve,
            TEMPLATE: self._template,
        }
        handler = actions.get(action)
        if handler is None:
            return texts.TICKET_UNKNOWN
        return await handler(actor, ticket, argument)

    async def reply(self, actor: Actor, ticket: Ticket, text: str, files: tuple[dict[str, str], ...]) -> bool:
        """The actor's words (and files) to the citizen; False if the ticket is closed for them."""
        return await self._to_citizen(ticket, actor.user_id, actor.name, text, files)

    async def _take(self, actor: Actor, ticket: Ticket, _argument: str) -> str | None:
        def take(row: Ticket) -> TicketChange | None:
            if row.status != Status.NEW:
                return None
            return self._taking(row, actor.user_id, actor.name)

        taken = await self.tracker.change(ticket.id, take)
        if taken is not None:
            return texts.YOU_TOOK.format(number=ticket.number)
        current = await self.store.ticket(ticket.id)
        if current is not None and current.assignee:
            return (
                None
                if current.assignee == actor.user_id
                else texts.TAKEN_BY.format(name=current.assignee_name)
            )
        return texts.NOT_NOW.format(status=current.status.label if current else "закрыто")

    async def take_over(self, actor: Actor, ticket: Ticket) -> str:
        """Reassign a ticket a colleague works on to the actor, on the audit trail and in its topic."""

        def take_over(row: Ticket) -> TicketChange | None:
            if row.status not in (Status.IN_PROGRESS, Status.NEEDS_INFO) or row.assignee in (
                None,
                actor.user_id,
            ):
                return None
            note = texts.TAKEN_OVER_NOTE.format(previous=row.assignee_name or row.assignee, name=actor.name)
            moved = replace(row, assignee=actor.user_id, assignee_name=actor.name)
            event = EventRecord(actor.user_id, row.status, row.status, row.level, note, actor.name)
            posts = [PostRecord("text", system_post(note)), PostRecord("card", PRESSED)]
            return TicketChange(row, moved, event, posts)

        if await self.tracker.change(ticket.id, take_over) is None:
            return texts.NOT_NOW.format(status=ticket.status.label)
        logger.info("ticket %s taken over from %s by %s", ticket.number, ticket.assignee, actor.user_id)
        return texts.YOU_TOOK_OVER.format(number=ticket.number)

    def _taking(self, row: Ticket, user_id: str, user_name: str) -> TicketChange:
        now = self.clock()
        taken = replace(
            row,
            status=Status.IN_PROGRESS,
            assignee=user_id,
            assignee_name=user_name,
            status_changed_at=now,
            taken_at=row.taken_at or now,
        )
        event = EventRecord(user_id, row.status, Status.IN_PROGRESS, row.level, "взято", user_name)
        name = f" {user_name}" if self.config.show_operator_name else ""
        told = CitizenMessage(texts.TAKEN.format(number=row.number, name=name), outcome="handoff")
        return TicketChange(row, taken, event, [PostRecord("card", PRESSED)], [told])

    async def _transfer(self, actor: Actor, ticket: Ticket, _argument: str) -> str | None:
        target = self.config.specialist_chat or ticket.desk_chat_id

        def transfer(row: Ticket) -> TicketChange | None:
            if row.level >= Level.SPECIALIST or row.status not in (Status.NEW, Status.IN_PROGRESS):
                return None
            note = texts.TRANSFERRED_NOTE.format(name=actor.name)
            moved = replace(
                row,
                level=int(Level.SPECIALIST),
                status=Status.NEW,
                assignee=None,
                assignee_name=None,
                status_changed_at=self.clock(),
                sla_alerted=False,
            )
            event = EventRecord(
                actor.user_id, row.status, Status.NEW, int(Level.SPECIALIST), note, actor.name
            )
            posts = [PostRecord("text", system_post(note)), PostRecord("card", PRESSED)]
            if target != row.desk_chat_id:  # a topic in the specialists' group; the old one is closed
                moved = replace(moved, desk_chat_id=target, thread_id=None, card_message_id=None)
                posts = [PostRecord("card", PRESSED), PostRecord("text", system_post(texts.TRANSFERRED_HERE))]
            told = CitizenMessage(texts.TRANSFERRED.format(number=row.number), outcome="handoff")
            return TicketChange(row, moved, event, posts, [told])

        if target != ticket.desk_chat_id and ticket.thread_id is not None and ticket.desk_chat_id:
            await self._close_old_topic(ticket, texts.TRANSFERRED_NOTE.format(name=actor.name))
        moved = await self.tracker.change(ticket.id, transfer)
        return None if moved else texts.NOT_NOW.format(status=ticket.status.label)

    async def _close_old_topic(self, ticket: Ticket, note: str) -> None:
        assert ticket.desk_chat_id is not None and ticket.thread_id is not None  # checked by the caller
        if self.desk is None:
            return
        try:
            await self.desk.post(ticket.desk_chat_id, ticket.thread_id, system_post(note))
            if ticket.card_message_id:  # the old card's buttons would act on a ticket that moved on
                await self.desk.edit(ticket.desk_chat_id, ticket.card_message_id, system_post(note))
            await self.desk.close_topic(ticket.desk_chat_id, ticket.thread_id)
        except DeskError as exc:
            logger.info("the old topic of ticket %s was not closed: %s", ticket.id, exc)

    async def _ask(self, actor: Actor, ticket: Ticket, _argument: str) -> str | None:
        if ticket.status != Status.IN_PROGRESS:
            return texts.NOT_NOW.format(status=ticket.status.label)

        def ask(row: Ticket) -> TicketChange:
            prompt = texts.ASK_PROMPT.format(name=actor.name)
            return TicketChange(
                row, replace(row, awaiting_question=True), None, [PostRecord("prompt", prompt)]
            )

        await self.tracker.change(ticket.id, ask)
        return None

    async def _resolve(self, actor: Actor, ticket: Ticket, _argument: str) -> str | None:
        def resolve(row: Ticket) -> TicketChange | None:
            if row.status not in (Status.IN_PROGRESS, Status.NEEDS_INFO):
                return None
            now = self.clock()
            note = texts.RESOLVED_NOTE.format(name=actor.name)
            resolved = replace(
                row,
                status=Status.RESOLVED,
                resolved_at=now,
                status_changed_at=now,
                awaiting_question=False,
                assignee=row.assignee or actor.user_id,
                assignee_name=row.assignee_name or actor.name,
                taken_at=row.taken_at or now,
            )
            event = EventRecord(actor.user_id, row.status, Status.RESOLVED, row.level, note, actor.name)
            told = CitizenMessage(texts.RESOLVED.format(number=row.number), outcome="handoff")
            return finishing(
                row, resolved, event, note, told, TicketEventKind.RESOLVED, str(row.version), PRESSED
            )

        done = await self.tracker.change(ticket.id, resolve)
        return None if done else texts.NOT_NOW.format(status=ticket.status.label)

    async def _templates(self, ticket: Ticket) -> str | None:
        if self.desk is None or ticket.thread_id is None or ticket.desk_chat_id is None:
            return texts.TICKET_UNKNOWN
        buttons = self.canned.buttons(ticket.id)
        await self.desk.post(ticket.desk_chat_id, ticket.thread_id, texts.TEMPLATES_PROMPT, buttons)
        return None

    async def _template(self, actor: Actor, ticket: Ticket, argument: str) -> str | None:
        reply = self.canned.get(argument)
        if reply is None:
            return texts.TICKET_UNKNOWN
        text = self.canned.render(reply, ticket)
        sent = await self._to_citizen(ticket, actor.user_id, actor.name, text, ())
        if sent:
            note = system_post(texts.TEMPLATE_SENT.format(title=reply.title))
            await self.store.post(ticket, [PostRecord("text", note)])
            self.tracker.on_change()
        return None if sent else texts.CLOSED_FOR_CITIZEN

    # Messages in a topic

    async def _message(self, message: DeskMessage) -> None:
        if message.thread_id is None:
            return  # the group's general topic: operators talking among themselves
        ticket = await self.store.by_thread(message.chat_id, message.thread_id)
        if ticket is None:
            return
        text = message.text.strip()
        if text.startswith(NOTE_PREFIXES):  # a private note: it stays in the topic, and is kept
            if self.notes is not None:
                note = text.removeprefix("/note").removeprefix("!").strip()
                await self.notes.add_note(ticket.id, message.user_id, message.user_name, note)
            return
        if not await self.allowed(message.user_id, message.chat_id, ticket.level):
            await self._say(ticket, texts.NOT_OPERATOR)
            return
        files = tuple({"kind": f.kind, "ref": f.ref, "source": DESK_SOURCE} for f in message.files)
        if not text and not files:  # a sticker, a voice message, a poll
            await self._say(ticket, texts.NOT_RELAYED_KIND)
            return
        if not await self._to_citizen(ticket, message.user_id, message.user_name, text, files):
            await self._say(ticket, texts.CLOSED_FOR_CITIZEN)

    async def _to_citizen(
        self, ticket: Ticket, user_id: str, user_name: str, text: str, files: tuple[dict[str, str], ...]
    ) -> bool:
        """The operator's words to the citizen; a new ticket is taken by whoever answers first."""
        prefix = f"{user_name}: " if self.config.show_operator_name and user_name else ""

        def relay(row: Ticket) -> TicketChange | None:
            if not row.status.active:
                return None
            if row.awaiting_question:
                body = texts.NEEDS_INFO.format(number=row.number, question=text)
                messages = [CitizenMessage(part) for part in split_text(body, CITIZEN_TEXT_LIMIT)]
                messages += [CitizenMessage("", media=f) for f in files]
                asked = replace(
                    row, status=Status.NEEDS_INFO, awaiting_question=False, status_changed_at=self.clock()
                )
                event = EventRecord(user_id, row.status, Status.NEEDS_INFO, row.level, "уточнение", user_name)
                # «требуется уточнение» on the card: one post of the group's budget
                return TicketChange(row, asked, event, [PostRecord("card", PRESSED)], messages)
            messages = (
                [CitizenMessage(part) for part in split_text(prefix + text, CITIZEN_TEXT_LIMIT)]
                if text
                else []
            )
            messages += [CitizenMessage(prefix.rstrip(": ") if prefix else "", media=f) for f in files]
            if row.status == Status.NEW:
                taking = self._taking(row, user_id, user_name)
                return replace(taking, to_citizen=[*taking.to_citizen, *messages])
            return TicketChange(row, to_citizen=messages)

        return await self.tracker.change(ticket.id, relay) is not None

    async def _say(self, ticket: Ticket, text: str) -> None:
        await self.store.post(ticket, [PostRecord("text", system_post(text))])
        self.tracker.on_change()
