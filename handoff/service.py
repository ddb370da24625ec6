"""The handoff worker: turns the conversation's handoff jobs into tickets, relays and answers."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from dialog.identification import display_phone
from dialog.messages import TicketEventKind, TicketKind
from dialog.ticket_talk import ticket_number
from dialog.tickets import Status, Ticket
from handoff import texts
from handoff.cards import citizen_post, is_callback, system_post
from handoff.config import HandoffConfig
from handoff.hours import Schedule, when
from handoff.jobs import Relay, rate_of
from handoff.polling import QueueWorker
from handoff.ports import TicketRepository
from handoff.repeats import Identifiers, Repeats, already_open, as_callback, callback_note
from handoff.tracking import Tracker, chat_event, event_update
from storage.outage import Outage, is_outage, until_back
from storage.records import CitizenMessage, EventRecord, NewTicket, PostRecord, QueuedJob, TicketChange

logger = logging.getLogger("okno.handoff.service")

BATCH = 200
ATTEMPTS = 3
CONCURRENCY = 16  # chats whose jobs run at once
FIRST_NUMBER = 10_000  # ticket numbers start with five digits: «10001-8»


class HandoffService:
    """Runs the jobs in the order the turns wrote them; each job is one or two transactions."""

    def __init__(
        self,
        store: TicketRepository,
        config: HandoffConfig,
        schedules: dict[int, Schedule],
        tracker: Tracker,
        clock: Callable[[], datetime],
        on_change: Callable[[], None],
    ) -> None:
        self.store = store
        self.config = config
        self.schedules = schedules
        self.tracker = tracker
        self.clock = clock
        self.on_change = on_change
        self._spread = itertools.count()
        self.outage = Outage("handoff", logger)
        self.queue = QueueWorker(store.pending_jobs, store.jobs_among, BATCH, self.outage, store.settled_jobs)
        self.repeats = Repeats(store, tracker, config.mask_identification)

    def wake(self) -> None:
        self.queue.wake()

    async def run(self, stop: asyncio.Event) -> None:
        await self.queue.run(stop, self.run_batch)

    async def run_batch(self, jobs: list[QueuedJob]) -> None:
        """Chats side by side, each chat's jobs in their order."""
        by_chat: dict[tuple[str, str], list[QueuedJob]] = {}
        for job in jobs:
            by_chat.setdefault((job.channel, job.chat_id), []).append(job)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def run_chat(items: list[QueuedJob]) -> None:
            async with limit:
                for job in items:
                    await self._run_job(job)
                await until_back(lambda: self.store.finish_jobs([job.id for job in items]), self.outage)

        await asyncio.gather(*(run_chat(items) for items in by_chat.values()))
        self.on_change()

    async def _run_job(self, job: QueuedJob) -> None:
        """A job is retried a few times, then given up; a database away is waited for instead,
        without counting (the job is not at fault)."""
        attempt, reason = 1, ""
        while attempt <= ATTEMPTS:
            try:
                await self.handle(job)
                self.outage.recovered()
                await self._release(job)
                return
            except Exception as exc:  # one bad job must not stop the others; retried, then given up
                if is_outage(exc):
                    await self.outage.wait(exc)
                    continue
                logger.exception(
                    "handoff job %s (%s) failed, attempt %d of %d", job.id, job.kind, attempt, ATTEMPTS
                )
                reason = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.2 * attempt**2)
                attempt += 1
        logger.error("handoff job %s given up after %d attempts; see `okno dlq list`", job.id, ATTEMPTS)
        give_up = functools.partial(self.store.give_up_job, job, reason, ATTEMPTS)
        await until_back(give_up, self.outage)
        await self._release(job)

    async def _release(self, job: QueuedJob) -> None:
        """The place kept for the job's reply goes, filled or not, so the chat's next replies leave."""
        slot = _slot(job)
        if slot is not None:
            await until_back(functools.partial(self.store.release_slot, slot), self.outage)

    async def _tell(self, job: QueuedJob, message: CitizenMessage) -> None:
        """The job's reply to the citizen, in the place its turn kept for it."""
        await self.store.send_to_citizen(job.channel, job.chat_id, [in_slot(job, message)])

    async def handle(self, job: QueuedJob) -> None:
        handlers = {"open": self._open, "relay": self._relay, "status": self._status, "rate": self._rate}
        handler = handlers.get(job.kind)
        if handler is None:
            logger.warning("unknown handoff job kind %r skipped", job.kind)
            return
        await handler(job)

    # Opening and reopening

    async def _open(self, job: QueuedJob) -> None:
        """A new ticket, unless the citizen has one open already: asked for people again in the same
        chat, in a chat linked to it, or in another chat with the same СНИЛС or phone."""
        own = await self.store.active_ticket(job.channel, job.chat_id)
        active = own or await self.store.links.linked_open(job.channel, job.chat_id)
        if active is not None:  # they see it in the topic
            if description := str(job.payload.get("description") or ""):
                await self._to_ticket(active, Relay(description, ()), None if own else job.channel)
            await self.repeats.again(active, job.payload, same_chat=own is not None)
            await self._tell(job, already_open(active, job))
            return
        twin = await self.repeats.twin(job)
        if twin is not None:
            await self.repeats.join(job, *twin)
            await self._tell(job, already_open(twin[0], job))
            return
        now = self.clock()
        previous = await self.store.last_resolved(job.channel, job.chat_id)
        recent = now - timedelta(days=self.config.reopen_days)
        if previous is not None and previous.resolved_at is not None and previous.resolved_at > recent:
            await self._reopen(previous, job)
            return
        await self._create(job, previous)

    async def _create(self, job: QueuedJob, previous: Ticket | None) -> None:
        new = self._new_ticket(job, previous)
        posts = [PostRecord("card")]
        if previous is not None:
            posts.append(
                PostRecord("text", system_post(texts.NEW_TICKET_LINK.format(number=previous.number)))
            )
        event = EventRecord("bot", None, Status.NEW, new.level, note=new.rule)
        ticket, created = await self.store.open_ticket(
            new, lambda sequence: ticket_number(FIRST_NUMBER + sequence), event, posts
        )
        if not created:
            return  # the job ran before and crashed after the ticket was written: told already
        if not self.config.enabled:  # nobody would see it: say so instead of promising an answer
            logger.warning(
                "ticket %s opened, but no operators' group is set (OKNO_DESK_CHAT_IDS)", ticket.number
            )
            text = texts.NO_OPERATORS.format(number=ticket.number, hotline=self.config.hotline)
            await self._tell(job, CitizenMessage(text, outcome="handoff"))
            return
        position = await self.tracker.position(ticket)
        await self._tell(job, self._opened_message(ticket, position))
        await self.store.mark_queue_told(ticket.id, position)

    def _new_ticket(self, job: QueuedJob, previous: Ticket | None) -> NewTicket:
        payload = job.payload
        level = int(payload.get("level") or 2)
        identification = {str(k): str(v) for k, v in (payload.get("identification") or {}).items()}
        identifiers = Identifiers.of(identification)
        category = _text(payload.get("category"))
        return NewTicket(
            source_key=job.key,
            channel=job.channel,
            chat_id=job.chat_id,
            user_id=job.user_id,
            rule=str(payload.get("rule") or "explicit_request"),
            level=level,
            priority=int(payload.get("priority") or 0),
            status=Status.NEW,
            identification=identification,
            description=str(payload.get("description") or "")[:2000],
            # the groups with the expertise in the problem's category, round robin over them
            desk_chat_id=self.config.desk_for(level, next(self._spread), category),
            opened_at=self.clock(),
            reopened_from_id=previous.id if previous else None,
            kind=TicketKind.CALLBACK if payload.get("kind") == TicketKind.CALLBACK else TicketKind.QUESTION,
            callback_time=_text(payload.get("callback_time")),
            category=category,
            category_title=_text(payload.get("category_title")),
            snils=identifiers.snils,
            phone=identifiers.phone,
        )

    def _opened_message(self, ticket: Ticket, position: int) -> CitizenMessage:
        """The ticket's number and when people will answer (or call) by their hours."""
        now = self.clock()
        schedule = self.schedules[min(ticket.level, 3)]
        button = [[f"status:{ticket.number}", texts.BUTTON_STATUS]]
        callback = is_callback(ticket)
        time = texts.CALLBACK_TIME.format(time=ticket.callback_time) if ticket.callback_time else ""
        values: dict[str, object] = {"number": ticket.number, "phone": display_phone(ticket.phone or "")}
        values["time"] = time
        if schedule.is_open(now):
            template = texts.CALLBACK_IN_HOURS if callback else texts.OPENED_IN_HOURS
            values |= {"position": position, "wait": self.tracker.wait_text(position)}
        else:
            template = texts.CALLBACK_OFF_HOURS if callback else texts.OPENED_OFF_HOURS
            values["back"] = when(schedule.next_opening(now), now)
        return CitizenMessage(template.format(**values), button, outcome="handoff")

    async def _reopen(self, ticket: Ticket, job: QueuedJob) -> None:
        description = str(job.payload.get("description") or "")
        status = Status.IN_PROGRESS if ticket.assignee else Status.NEW

        def change(row: Ticket) -> TicketChange | None:
            if row.status != Status.RESOLVED:
                return None
            posts = [
                PostRecord("reopen"),
                PostRecord("text", system_post(texts.REOPENED_NOTE.format(days=self._days()))),
            ]
            if description:
                masked = self.config.mask_identification
                posts.append(PostRecord("text", citizen_post(description, masked=masked)))
            told = texts.REOPENED.format(number=row.number)
            reopened = replace(
                row,
                status=status,
                resolved_at=None,
                reopen_count=row.reopen_count + 1,
                status_changed_at=self.clock(),
                rating=None,
                rating_comment=None,
            )
            callback = as_callback(reopened, job.payload)  # the citizen now asks to be called about it
            if callback is not None:
                reopened = callback
                posts.append(PostRecord("text", system_post(callback_note(job.payload))))
                phone = display_phone(str(callback.phone))
                told = texts.REOPENED_CALLBACK.format(number=row.number, phone=phone)
            return TicketChange(
                row,
                reopened,
                EventRecord("citizen", row.status, status, row.level, note="повторное обращение"),
                [*posts, PostRecord("card")],
                [in_slot(job, CitizenMessage(told, outcome="handoff"))],
            )

        await self.tracker.change(ticket.id, change)

    def _days(self) -> str:
        return f"{self.config.reopen_days:g}"

    # Messages from the citizen

    async def _relay(self, job: QueuedJob) -> None:
        """The citizen's message to their open ticket, or to the one their chat was linked to."""
        relay = Relay.from_payload(job.payload)
        own = await self.store.active_ticket(job.channel, job.chat_id)
        ticket = own or await self.store.links.linked_open(job.channel, job.chat_id)
        if ticket is None:  # closed meanwhile: the conversation goes back to the bot
            await self._closed_meanwhile(job)
            return
        if relay.text or relay.files:
            await self._to_ticket(ticket, relay, None if own else job.channel)
        if relay.repeat is not None:  # asked for people again: told which ticket is in work
            await self.repeats.again(ticket, job.payload, same_chat=own is not None)
            await self._tell(job, already_open(ticket, job))

    async def _closed_meanwhile(self, job: QueuedJob) -> None:
        """The chat's ticket — its own, or the one it was linked to later — is closed: said, and
        the conversation goes back to the bot."""
        await self._tell(job, CitizenMessage(texts.NO_TICKET, outcome="handoff"))
        own = next(iter(await self.store.tickets_of(job.channel, job.chat_id, 1)), None)
        linked = await self.store.links.last_linked(job.channel, job.chat_id)
        if linked is not None and (own is None or linked.id > own.id):
            await self.tracker.inject(
                chat_event(linked, job.channel, job.chat_id, job.user_id, TicketEventKind.CLOSED)
            )
        elif own is not None:
            await self.tracker.inject(event_update(own, TicketEventKind.CLOSED, "relay"))

    async def _to_ticket(self, ticket: Ticket, relay: Relay, via: str | None) -> None:
        posts = []
        if relay.text or not relay.files:
            posts.append(PostRecord("text", citizen_post(relay.text, via, self.config.mask_identification)))
        posts += [PostRecord(f.kind, f.name or "", f.ref) for f in relay.files]
        if ticket.status != Status.NEEDS_INFO:
            await self.store.post(ticket, posts)
            return

        def answered(row: Ticket) -> TicketChange | None:
            if row.status != Status.NEEDS_INFO:
                return TicketChange(row, posts=posts)
            event = EventRecord(
                "citizen", row.status, Status.IN_PROGRESS, row.level, note="ответ на уточнение"
            )
            back = replace(row, status=Status.IN_PROGRESS, status_changed_at=self.clock())
            return TicketChange(row, back, event, [*posts, PostRecord("card")])

        await self.tracker.change(ticket.id, answered)

    async def citizen_blocked(self, channel: str, chat_id: str) -> None:
        """The citizen blocked the bot: whoever works on their ticket should know replies do not arrive."""
        ticket = await self.store.active_ticket(channel, chat_id)
        if ticket is not None:
            await self.store.post(ticket, [PostRecord("text", system_post(texts.CITIZEN_BLOCKED))])
            self.on_change()

    # Questions about tickets

    async def _status(self, job: QueuedJob) -> None:
        number = job.payload.get("number")
        if number:
            ticket = await self.store.by_number(str(number))
            own = ticket is not None and (
                (ticket.channel, ticket.chat_id) == (job.channel, job.chat_id)
                or await self.store.links.is_linked(ticket.id, job.channel, job.chat_id)
            )
            # someone else's number is answered exactly like an unknown one
            lines = (
                [await self._status_line(ticket)]
                if own and ticket
                else [texts.STATUS_NOT_FOUND.format(number=number)]
            )
        else:
            tickets = await self.store.tickets_of(job.channel, job.chat_id)
            lines = [await self._status_line(t) for t in tickets] or [texts.STATUS_NONE]
        await self._tell(job, CitizenMessage("\n".join(lines), outcome="status"))

    async def _status_line(self, ticket: Ticket) -> str:
        opened = ticket.opened_at.astimezone(self.tracker.timezone).strftime("%d.%m.%Y %H:%M")
        line = texts.STATUS_LINE.format(number=ticket.number, status=ticket.status.label, opened=opened)
        if ticket.status == Status.NEW:
            line += texts.STATUS_QUEUE.format(position=await self.tracker.position(ticket))
        return line

    async def _rate(self, job: QueuedJob) -> None:
        rating = rate_of(job.payload)
        ticket = await self.store.by_number(rating.number)
        if ticket is None or (ticket.channel, ticket.chat_id) != (job.channel, job.chat_id):
            logger.info("a rating for a ticket that is not the citizen's was ignored")
            return

        def rate(row: Ticket) -> TicketChange:
            rated = row
            posts, notes = [], []
            if rating.score is not None and 1 <= rating.score <= 5:
                rated = replace(rated, rating=rating.score)
                notes.append(texts.RATING_NOTE.format(score=rating.score))
            if rating.comment:
                rated = replace(rated, rating_comment=rating.comment[:2000])
                notes.append(texts.COMMENT_NOTE.format(comment=rating.comment))
            posts = [PostRecord("text", system_post(note)) for note in notes]
            # an event in the history, which also tells open inbox pages (a resolved ticket has no
            # other mark they watch)
            note = " ".join(notes)
            event = EventRecord("citizen", None, row.status, row.level, note=note) if notes else None
            return TicketChange(row, rated, event, [*posts, PostRecord("card")])

        await self.tracker.change(ticket.id, rate)


def _text(value: object) -> str | None:
    return str(value) if value else None


def _slot(job: QueuedJob) -> int | None:
    slot = job.payload.get("slot")
    return slot if isinstance(slot, int) else None


def in_slot(job: QueuedJob, message: CitizenMessage) -> CitizenMessage:
    return dataclasses.replace(message, slot=_slot(job))
