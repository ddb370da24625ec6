"""Posting to the operators' groups through one shaped queue per group.

Telegram lets a bot send about 20 messages a minute into one group, all its topics together.
Each group's posts wait in the database; a loop per group spends its budget on the tickets
whose oldest posts wait longest (a few side by side), merges a ticket's waiting texts into one message, and
edits a ticket's card at most once per debounce interval — so a burst costs a few posts and
nothing is dropped. A topic deleted or closed by hand is created again with its card.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from adapters.errors import AdapterError, PermanentFailure, RetryLater, TopicGone
from dialog.messages import Button
from handoff.cards import card_buttons, card_text, topic_name
from handoff.config import HandoffConfig
from handoff.ports import Desk, DeskFile
from handoff.tickets import Status
from handoff.waiting import wait_for_either
from storage.models import DeskPost, TicketRow
from storage.outage import is_outage
from storage.records import PostRecord
from storage.tickets import TicketStore

logger = logging.getLogger("okno.handoff.poster")

POST_LIMIT = 4000
POLL_SECONDS = 1.0
MAX_BACKOFF = 30.0
FILE_KINDS = ("photo", "document")
TICKETS_AT_ONCE = 8
POST_ATTEMPTS = 5  # unexplained failures of one ticket's posts before they go to the dead letters

TakeToken = Callable[[str, float, float], Awaitable[float]]


@dataclass(frozen=True, slots=True)
class Card:
    text: str
    buttons: tuple[Button, ...]
    topic: str


class CardRenderer:
    def __init__(self, store: TicketStore, config: HandoffConfig, situations: dict[str, str]) -> None:
        self.store = store
        self.config = config
        self.situations = situations

    async def render(self, ticket: TicketRow) -> Card:
        situation = self.situations.get(ticket.rule, ticket.rule)
        transcript = await self.store.transcript(
            ticket.channel, ticket.chat_id, self.config.transcript_messages
        )
        text = card_text(ticket, situation, transcript, self.config.mask_identification)
        return Card(text, card_buttons(ticket), topic_name(ticket, situation))


class GroupPoster:
    def __init__(
        self,
        store: TicketStore,
        desk: Desk,
        config: HandoffConfig,
        renderer: CardRenderer,
        take_token: TakeToken,
    ) -> None:
        self.store = store
        self.desk = desk
        self.config = config
        self.renderer = renderer
        self.take_token = take_token
        self._wake: dict[str, asyncio.Event] = {}
        self._shown: dict[int, Card] = {}  # what each ticket's card and topic show now
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
            except RetryLater as exc:
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
        """Post the waiting posts of the tickets first in line; returns the seconds until the next round."""
        posts = await self.store.pending_posts(chat)
        if not posts:
            return POLL_SECONDS
        now = time.monotonic()
        ready = [p for p in posts if p.kind != "card" or self._card_due(p.ticket_id, now) <= 0]
        if not ready:
            return min(self._card_due(p.ticket_id, now) for p in posts)
        # the tickets waiting longest, a few side by side: the budget still paces every post
        tickets = list(dict.fromkeys(p.ticket_id for p in ready))[:TICKETS_AT_ONCE]
        results = await asyncio.gather(
            *(self._flush_ticket(chat, t, [p for p in ready if p.ticket_id == t]) for t in tickets),
            return_exceptions=True,  # the others finish (and are marked posted) before any retry
        )
        errors = [
            result
            for ticket_id, result in zip(tickets, results, strict=True)
            if isinstance(result, Exception) and not await self._out_of_attempts(chat, ticket_id, result)
        ]
        if errors:
            raise errors[0]
        return 0.0

    async def _out_of_attempts(self, chat: str, ticket_id: int, error: Exception) -> bool:
        """An error no outage explains, met POST_ATTEMPTS times in a row: the ticket's first waiting
        posts are given up, so its later ones (and the loop) are not held for ever."""
        if isinstance(error, AdapterError) or is_outage(error):
            return False  # the API or the database away, a 429, a group that refuses the bot: waited out
        self._failures[ticket_id] = attempts = self._failures.get(ticket_id, 0) + 1
        if attempts < POST_ATTEMPTS:
            return False
        ticket = await self.store.ticket(ticket_id)
        posts = [p for p in await self.store.pending_posts(chat) if p.ticket_id == ticket_id]
        if ticket is None or not posts:
            return False
        del self._failures[ticket_id]
        await self._give_up(ticket, _runs(posts)[0], f"{type(error).__name__}: {error}", attempts)
        return True

    def _card_due(self, ticket_id: int, now: float) -> float:
        last = self._edited_at.get(ticket_id)
        return 0.0 if last is None else last + self.config.card_debounce_seconds - now

    async def _flush_ticket(self, chat: str, ticket_id: int, posts: list[DeskPost]) -> None:
        ticket = await self.store.ticket(ticket_id)
        if ticket is None or ticket.desk_chat_id != chat:  # moved to another group: its card goes there
            await self.store.finish_posts([p.id for p in posts if p.kind in ("card", "close", "reopen")])
            posts = [p for p in posts if p.kind not in ("card", "close", "reopen")]
            if ticket is None or not posts:
                return
            logger.info("posts of ticket %s follow it to group %s", ticket_id, ticket.desk_chat_id)
            await self.store.finish_posts([p.id for p in posts])
            await self.store.post(ticket, [_record(p) for p in posts])
            return
        if ticket.thread_id is None:
            ticket = await self._new_topic(chat, ticket)
        for group in _runs(posts):
            try:
                ticket = await self._post_run(chat, ticket, group)
            except PermanentFailure as exc:
                if isinstance(exc, TopicGone):
                    raise
                await self._give_up(ticket, group, f"refused by Telegram: {exc}", 1)
                continue
            await self.store.finish_posts([p.id for p in group])
            self._failures.pop(ticket_id, None)

    async def _give_up(self, ticket: TicketRow, posts: list[DeskPost], reason: str, attempts: int) -> None:
        """Posts the group will not take go to the dead letters, so the ticket's next posts go on."""
        logger.error(
            "%d post(s) for ticket %s given up (%s); see `okno dlq list`", len(posts), ticket.number, reason
        )
        await self.store.dead_letters.give_up_posts(posts, reason, attempts)

    async def _post_run(self, chat: str, ticket: TicketRow, group: list[DeskPost]) -> TicketRow:
        kind = group[0].kind
        if kind == "card":
            return await self._refresh_card(chat, ticket)
        if kind == "close":
            await self._spend(chat)
            with contextlib.suppress(TopicGone):
                await self.desk.close_topic(chat, _thread(ticket))
            return ticket
        if kind == "reopen":
            await self._spend(chat)
            with contextlib.suppress(TopicGone):
                await self.desk.reopen_topic(chat, _thread(ticket))
            return ticket
        if kind in FILE_KINDS:
            file = DeskFile(kind, group[0].file_ref or "", group[0].text or None)
            return await self._in_topic(
                chat, ticket, lambda thread: self.desk.post_file(chat, thread, file, file.name or "")
            )
        mentions = [u for p in group if p.kind == "alert" for u in (p.file_ref or "").split(",") if u]
        for text in _merge([p.text for p in group]):
            ticket = await self._in_topic(chat, ticket, self._poster(chat, text, mentions))
        return ticket

    def _poster(self, chat: str, text: str, mentions: list[str]) -> Callable[[int], Awaitable[int]]:
        def send(thread: int) -> Awaitable[int]:
            return self.desk.post(chat, thread, text, (), mentions)

        return send

    async def _in_topic(
        self, chat: str, ticket: TicketRow, send: Callable[[int], Awaitable[int]]
    ) -> TicketRow:
        await self._spend(chat)
        try:
            await send(_thread(ticket))
        except TopicGone:
            if ticket.status in (Status.RESOLVED.value, Status.CLOSED.value):  # closed by us when done
                logger.info("a post for finished ticket %s stays out of its closed topic", ticket.number)
                return ticket
            logger.warning("the topic of ticket %s is gone; creating it again", ticket.number)
            ticket = await self._new_topic(chat, ticket)
            await self._spend(chat)
            await send(_thread(ticket))
        return ticket

    async def _new_topic(self, chat: str, ticket: TicketRow) -> TicketRow:
        card = await self.renderer.render(ticket)
        await self._spend(chat)
        thread = await self.desk.create_topic(chat, card.topic)
        await self._spend(chat)
        card_id = await self.desk.post(chat, thread, card.text, card.buttons)
        await self.store.set_topic(ticket.id, thread, card_id)
        self._shown[ticket.id] = card
        self._edited_at[ticket.id] = time.monotonic()
        if ticket.status in (Status.RESOLVED.value, Status.CLOSED.value):
            await self._spend(chat)
            await self.desk.close_topic(chat, thread)
        refreshed = await self.store.ticket(ticket.id)
        return refreshed or ticket

    async def _refresh_card(self, chat: str, ticket: TicketRow) -> TicketRow:
        card = await self.renderer.render(ticket)
        shown = self._shown.get(ticket.id)
        self._edited_at[ticket.id] = time.monotonic()
        if shown is not None and shown.topic != card.topic:
            await self._spend(chat)
            try:
                await self.desk.rename_topic(chat, _thread(ticket), card.topic)
            except TopicGone:
                return await self._new_topic(chat, ticket)
        if shown is None or (shown.text, shown.buttons) != (card.text, card.buttons):
            await self._spend(chat)
            try:
                await self.desk.edit(chat, ticket.card_message_id or 0, card.text, card.buttons)
            except TopicGone:
                return await self._new_topic(chat, ticket)
        self._shown[ticket.id] = card
        return ticket

    async def _spend(self, chat: str) -> None:
        """Wait for the group's budget: the rate per minute, with no burst beyond one post."""
        rate = self.config.group_posts_per_minute / 60
        while rate > 0 and (wait := await self.take_token(f"desk:{chat}", rate, 1.0)) > 0:
            await asyncio.sleep(wait)
        self.sent += 1


def _thread(ticket: TicketRow) -> int:
    return ticket.thread_id or 0


def _runs(posts: Sequence[DeskPost]) -> list[list[DeskPost]]:
    """Consecutive texts go together; every other post stands alone; the card comes after them."""
    runs: list[list[DeskPost]] = []
    cards = [p for p in posts if p.kind == "card"]
    closing = [p for p in posts if p.kind == "close"]
    for post in posts:
        if post.kind in ("card", "close"):
            continue
        if runs and post.kind in ("text", "alert") and runs[-1][0].kind in ("text", "alert"):
            runs[-1].append(post)
        else:
            runs.append([post])
    if cards:
        runs.append(cards)  # one refresh stands for all of them
    if closing:
        runs.append(closing)
    return runs


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


def _record(post: DeskPost) -> PostRecord:
    return PostRecord(post.kind, post.text, post.file_ref)
