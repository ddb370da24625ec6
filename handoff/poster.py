"""Posting to the operators' groups through one shaped queue per group.

Each group's posts wait in the database. A loop per group plans the next jobs (`post_plan`): the
card an operator just changed first, then the tickets waiting longest, a few side by side, then
topic renames. Every call into the group takes a slot of the group's window (`group_budget`), so
Telegram's limit holds while bursts go out at once; a ticket's waiting texts go as one message, a
card is built when its slot is taken and edited at most once per debounce interval, and nothing
is dropped. A topic deleted or closed by hand is created again with its card.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dialog.messages import Button
from dialog.tickets import Status, Ticket
from handoff.cards import card_buttons, card_text, topic_name
from handoff.config import HandoffConfig
from handoff.errors import DeskBusy, DeskError, DeskRefused, TopicGone
from handoff.group_budget import GroupSlots
from handoff.ports import Desk, DeskFile, TicketRepository
from handoff.post_plan import Job, JobKind, Tier, first_run, plan
from handoff.waiting import wait_for_either
from storage.outage import is_outage
from storage.records import PostRecord, QueuedPost

logger = logging.getLogger("okno.handoff.poster")

POST_LIMIT = 4000
POLL_SECONDS = 1.0
MAX_BACKOFF = 30.0
FILE_KINDS = ("photo", "document", "voice", "audio", "video_note")
TICKETS_AT_ONCE = 8
POST_ATTEMPTS = 5  # unexplained failures of one ticket's posts before they go to the dead letters
FINISHED = (Status.RESOLVED, Status.CLOSED)


@dataclass(frozen=True, slots=True)
class Card:
    text: str
    buttons: tuple[Button, ...]
    topic: str


class CardRenderer:
    def __init__(self, store: TicketRepository, config: HandoffConfig, situations: dict[str, str]) -> None:
        self.store = store
        self.config = config
        self.situations = situations

    async def render(self, ticket: Ticket) -> Card:
        situation = self.situations.get(ticket.rule, ticket.rule)
        transcript = await self.store.transcript(
            ticket.channel, ticket.chat_id, self.config.transcript_messages
        )
        masked = self.config.mask_identification
        text = card_text(ticket, situation, transcript, masked)
        return Card(text, card_buttons(ticket), topic_name(ticket, situation, masked))


class Allowance:
    """The slots one job may use: the first was taken when the job was chosen, the rest are waited for."""

    def __init__(self, poster: GroupPoster, chat: str, tier: Tier, prepaid: bool = True) -> None:
        self._poster = poster
        self._chat = chat
        self._tier = tier
        self._prepaid = prepaid

    async def spend(self, edit: bool = False) -> None:
        if self._prepaid:
            self._prepaid = False
            self._poster.sent += 1
            return
        await self._poster.spend(self._chat, self._tier, edit)


class GroupPoster:
    def __init__(
        self,
        store: TicketRepository,
        desk: Desk,
        config: HandoffConfig,
        renderer: CardRenderer,
        slots: GroupSlots,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.desk = desk
        self.config = config
        self.renderer = renderer
        self.slots = slots
        self.clock = clock
        self.sleep = sleep
        self._wake: dict[str, asyncio.Event] = {}
        self._shown: dict[int, Card] = {}  # what each ticket's card shows now
        self._topics: dict[int, str] = {}  # what each ticket's topic is called now
        self._renames: dict[str, set[int]] = {}  # group → tickets whose topic name may be behind
        self._edited_at: dict[int, float] = {}
        self._failures: dict[int, int] = {}  # ticket id → unexplained failures in a row
        self.sent = 0  # posts, edits and topic changes made: what the budget paid for

    def wake(self) -> None:
        for event in self._wake.values():
            event.set()

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as tasks:
            for chat in self.config.all_desks():
                self._wake[chat] = asyncio.Event()
                tasks.create_task(self._run_group(chat, stop), name=f"desk-{chat}")

    async def _run_group(self, chat: str, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                delay = await self.flush_one(chat)
                failures = 0
            except DeskBusy as exc:
                delay = exc.seconds
            except Exception:  # the group's loop must survive anything; the posts wait in the database
                failures += 1
                delay = min(MAX_BACKOFF, 0.5 * 2**failures) * random.uniform(0.5, 1.0)  # jitter, not security
                logger.exception("posting to group %s failed; retrying in %.1f s", chat, delay)
            if delay:
                wake = self._wake[chat]
                await wait_for_either(wake, stop, delay)
                wake.clear()

    async def flush_one(self, chat: str) -> float:
        """Start the jobs first in line that the group's window lets go now; the seconds until the next
        round (0: at once)."""
        posts = await self.store.pending_posts(chat)
        renames = sorted(self._renames.get(chat, ()))
        if not posts and not renames:
            return POLL_SECONDS
        tickets = await self.store.tickets(sorted({p.ticket_id for p in posts} | set(renames)))
        now = self.clock()
        jobs, wait = plan(chat, posts, tickets, lambda t: self._card_due(t, now), renames)
        chosen: list[tuple[Job, Card | None]] = []
        for job in jobs:
            if len(chosen) >= TICKETS_AT_ONCE:
                break
            needed, card = await self._needed(chat, job, tickets.get(job.ticket_id))
            if not needed:
                continue  # nothing to show: no slot spent
            if job.sends and (wait := await self.slots.try_take(chat, job.tier, job.kind is JobKind.CARD)):
                break
            chosen.append((job, card))  # the card rendered just now goes out as it is: no wait between
        if not chosen:
            return wait if jobs else min(wait or POLL_SECONDS, POLL_SECONDS)
        results = await asyncio.gather(
            *(self._do(chat, job, tickets.get(job.ticket_id), card) for job, card in chosen),
            return_exceptions=True,  # the others finish (and are marked posted) before any retry
        )
        errors = [
            result
            for (job, _), result in zip(chosen, results, strict=True)
            if isinstance(result, Exception) and not await self._out_of_attempts(chat, job, result)
        ]
        if errors:
            raise errors[0]
        return 0.0

    async def _do(self, chat: str, job: Job, ticket: Ticket | None, card: Card | None) -> None:
        if job.kind is JobKind.MOVE:
            await self._follow(job, ticket)
            return
        assert ticket is not None  # the plan makes other jobs only for tickets it found
        allowance = Allowance(self, chat, job.tier)
        if job.kind is JobKind.RENAME:
            self._renames.get(chat, set()).discard(ticket.id)
            await self._rename(chat, ticket, allowance, card)
            return
        try:
            if job.kind is JobKind.NEW_TOPIC:
                await self._new_topic(chat, ticket, allowance)
            elif job.kind is JobKind.CARD:
                assert card is not None  # `_needed` renders every card it lets through
                await self._refresh_card(chat, ticket, allowance, card)
            else:
                await self._post_run(chat, ticket, list(job.posts), allowance)
        except DeskRefused as exc:
            if isinstance(exc, TopicGone):
                raise
            await self._give_up(ticket, list(job.posts), f"refused by Telegram: {exc}", 1)
            return
        await self.store.finish_posts([p.id for p in job.posts])
        self._failures.pop(ticket.id, None)

    async def _follow(self, job: Job, ticket: Ticket | None) -> None:
        """A ticket moved to another group: its card goes there; what was written follows it."""
        await self.store.finish_posts([p.id for p in job.posts])
        posts = [p for p in job.posts if p.kind not in ("card", "close", "reopen")]
        if ticket is not None and posts:
            logger.info("posts of ticket %s follow it to group %s", ticket.id, ticket.desk_chat_id)
            await self.store.post(ticket, [_record(p) for p in posts])

    async def _out_of_attempts(self, chat: str, job: Job, error: Exception) -> bool:
        """An error no outage explains, met POST_ATTEMPTS times in a row: the ticket's first waiting
        posts are given up, so its later ones (and the loop) are not held for ever."""
        if isinstance(error, DeskError) or is_outage(error):
            return False  # the API or the database away, a 429, a group that refuses the bot: waited out
        ticket_id = job.ticket_id
        self._failures[ticket_id] = attempts = self._failures.get(ticket_id, 0) + 1
        if attempts < POST_ATTEMPTS:
            return False
        ticket = await self.store.ticket(ticket_id)
        posts = [p for p in await self.store.pending_posts(chat) if p.ticket_id == ticket_id]
        if ticket is None or not posts:
            return False
        del self._failures[ticket_id]
        await self._give_up(
            ticket, list(job.posts) or first_run(posts), f"{type(error).__name__}: {error}", attempts
        )
        return True

    def _card_due(self, ticket_id: int, now: float) -> float:
        last = self._edited_at.get(ticket_id)
        return 0.0 if last is None else last + self.config.card_debounce_seconds - now

    async def _give_up(self, ticket: Ticket, posts: Sequence[QueuedPost], reason: str, attempts: int) -> None:
        """Posts the group will not take go to the dead letters, so the ticket's next posts go on."""
        logger.error(
            "%d post(s) for ticket %s given up (%s); see `okno dlq list`", len(posts), ticket.number, reason
        )
        await self.store.give_up_posts(list(posts), reason, attempts)

    async def _post_run(self, chat: str, ticket: Ticket, run: list[QueuedPost], allowance: Allowance) -> None:
        kind = run[0].kind
        if kind == "close":
            await self._rename(chat, ticket, allowance)  # the topic list shows it done before it closes
            await allowance.spend()
            with contextlib.suppress(TopicGone):
                await self.desk.close_topic(chat, _thread(ticket))
            return
        if kind == "reopen":
            await allowance.spend()
            with contextlib.suppress(TopicGone):
                await self.desk.reopen_topic(chat, _thread(ticket))
            return
        if kind in FILE_KINDS:
            file = DeskFile(kind, run[0].file_ref or "", run[0].text or None, ticket.channel)
            await self._in_topic(
                chat,
                ticket,
                lambda thread: self.desk.post_file(chat, thread, file, file.name or ""),
                allowance,
            )
            return
        mentions = [u for p in run if p.kind == "alert" for u in (p.file_ref or "").split(",") if u]
        for text in _merge([p.text for p in run]):
            ticket = await self._in_topic(chat, ticket, self._poster(chat, text, mentions), allowance)

    def _poster(self, chat: str, text: str, mentions: list[str]) -> Callable[[int], Awaitable[int]]:
        def send(thread: int) -> Awaitable[int]:
            return self.desk.post(chat, thread, text, (), mentions)

        return send

    async def _in_topic(
        self, chat: str, ticket: Ticket, send: Callable[[int], Awaitable[int]], allowance: Allowance
    ) -> Ticket:
        await allowance.spend()
        try:
            await send(_thread(ticket))
        except TopicGone:
            if ticket.status in FINISHED:  # closed by us when done
                logger.info("a post for finished ticket %s stays out of its closed topic", ticket.number)
                return ticket
            logger.warning("the topic of ticket %s is gone; creating it again", ticket.number)
            ticket = await self._new_topic(chat, ticket, allowance)
            await allowance.spend()
            await send(_thread(ticket))
        return ticket

    async def _new_topic(self, chat: str, ticket: Ticket, allowance: Allowance) -> Ticket:
        card = await self.renderer.render(ticket)
        await allowance.spend()
        thread = await self.desk.create_topic(chat, card.topic)
        await allowance.spend()
        card = await self.renderer.render(ticket)  # what it is now, after the wait for the slot
        card_id = await self.desk.post(chat, thread, card.text, card.buttons)
        await self.store.set_topic(ticket.id, thread, card_id)
        self._shown[ticket.id] = card
        self._topics[ticket.id] = card.topic
        self._edited_at[ticket.id] = self.clock()
        if ticket.status in FINISHED:
            await allowance.spend()
            await self.desk.close_topic(chat, thread)
        refreshed = await self.store.ticket(ticket.id)
        return refreshed or ticket

    async def _needed(self, chat: str, job: Job, ticket: Ticket | None) -> tuple[bool, Card | None]:
        """False for a card or a topic name that already shows what the ticket is; for those two, the
        card as the ticket is now, to send if it is needed."""
        if ticket is None or job.kind not in (JobKind.CARD, JobKind.RENAME):
            return True, None
        card = await self.renderer.render(ticket)
        if job.kind is JobKind.RENAME:
            if self._topics.get(ticket.id) == card.topic:
                self._renames.get(chat, set()).discard(ticket.id)
                return False, None
            return True, card
        shown = self._shown.get(ticket.id)
        if shown is None or (shown.text, shown.buttons) != (card.text, card.buttons):
            return True, card
        await self.store.finish_posts([p.id for p in job.posts])
        return False, None

    async def _refresh_card(self, chat: str, ticket: Ticket, allowance: Allowance, card: Card) -> None:
        """The card as rendered when its slot was taken; its topic's name catches up later."""
        await allowance.spend(edit=True)
        self._edited_at[ticket.id] = self.clock()
        try:
            await self.desk.edit(chat, ticket.card_message_id or 0, card.text, card.buttons)
        except TopicGone:
            await self._new_topic(chat, ticket, allowance)  # its slot is spent: the topic waits for more
            return
        self._shown[ticket.id] = card
        if self._topics.get(ticket.id) != card.topic:
            self._renames.setdefault(chat, set()).add(ticket.id)
            self.wake()

    async def _rename(
        self, chat: str, ticket: Ticket, allowance: Allowance, card: Card | None = None
    ) -> None:
        """The topic's name after the ticket's status, if it is behind; a slot only when it is."""
        name = (card or await self.renderer.render(ticket)).topic
        if self._topics.get(ticket.id) == name or ticket.thread_id is None:
            return
        await allowance.spend()
        with contextlib.suppress(TopicGone):  # gone: a new topic comes with the next post, named right
            await self.desk.rename_topic(chat, ticket.thread_id, name)
        self._topics[ticket.id] = name

    async def spend(self, chat: str, tier: Tier, edit: bool = False) -> None:
        """Wait for a slot of the group's window."""
        while (wait := await self.slots.try_take(chat, tier, edit)) > 0:
            await self.sleep(wait)
        self.sent += 1


def _thread(ticket: Ticket) -> int:
    return ticket.thread_id or 0


def _merge(texts: Sequence[str]) -> list[str]:
    """Texts joined into as few posts as fit the limit."""
    merged: list[str] = []
    for text in texts:
        for piece in [text[i : i + POST_LIMIT] for i in range(0, max(len(text), 1), POST_LIMIT)]:
            if merged and len(merged[-1]) + 2 + len(piece) <= POST_LIMIT:
                merged[-1] += "\n\n" + piece
            else:
                merged.append(piece)
    return merged


def _record(post: QueuedPost) -> PostRecord:
    return PostRecord(post.kind, post.text, post.file_ref)
