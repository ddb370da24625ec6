"""The outbox dispatcher: delivers stored replies in order per chat, within rate limits."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.base import Channel
from adapters.errors import ChatBlocked, PermanentFailure, RetryLater, TemporaryFailure
from bots.keyed import GroupCommit, KeyedQueue, wait_for_either
from bots.metrics import Metrics
from bots.ratelimit import RateLimiter
from dialog.messages import Button
from handoff.polling import QueueWorker
from storage.models import OutboxMessage
from storage.outage import Outage, left_for_next_start, until_back
from storage.records import Delivery
from storage.repositories import Repository

logger = logging.getLogger("okno.bots.outbox")

BATCH = 500
MAX_BACKOFF = 30.0
MAX_SLOWDOWNS = 10  # rate-limit answers for one reply: a limit that never lifts (VK error 9) gives up
MAX_UNEXPECTED = 5  # errors no adapter explained (a bug, an odd answer): retried, then given up
DRAIN_SECONDS = 10.0  # how long shutdown waits for replies still being delivered
HELD_SECONDS = 600.0  # how long a chat waits for a status answer or ticket notice being written
HELD_POLL_SECONDS = 0.5
IN_FLIGHT_SECONDS = 70.0  # then how long for the sends under way (the API client's own timeout is 60 s)


class OutboxDispatcher:
    def __init__(
        self,
        repository: Repository,
        channels: dict[str, Channel],
        limiters: dict[str, RateLimiter],
        concurrency: int,
        resend_uncertain: bool = True,
    ) -> None:
        self.repository = repository
        self.channels = channels
        self.limiters = limiters
        self.concurrency = concurrency
        # a reply that may have arrived before a crash, on a platform that cannot drop a repeat:
        # sent again (at most one double) or left as a dead letter for a person to decide
        self.resend_uncertain = resend_uncertain
        self._filled_event = asyncio.Event()
        self._stop = asyncio.Event()
        self._blocked: set[tuple[str, str]] = set()
        self._deliveries = GroupCommit(repository.mark_sent_many)
        self._attempts = GroupCommit(repository.mark_attempted_many)
        self.outage = Outage("outbox", logger)
        self.queue = QueueWorker(
            repository.pending_outbox, repository.outbox_among, BATCH, self.outage, repository.settled_outbox
        )
        # replies queued here and not yet done with, by id: the partition each holds in hand; a reader
        # that starts again (partitions were added) must not queue them twice
        self._in_hand: dict[int, int] = {}
        self.metrics = Metrics()  # the wiring shares one with /metrics
        self.on_blocked: Callable[[str, str], Awaitable[None]] | None = None  # set by the wiring

    def wake(self) -> None:
        self.queue.wake()
        # rows held for a handoff job look again; the event is only a hint, they also poll
        self._filled_event.set()
        self._filled_event = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        async with asyncio.TaskGroup() as tasks:
            queue: KeyedQueue[OutboxMessage] = KeyedQueue(self._deliver_queued, self.concurrency, tasks)
            try:
                await self._dispatch(queue, stop)
            finally:
                queue.close()
                self.queue.shares.done(self._in_hand.values())  # what was left waits in the database
                self._in_hand.clear()

    async def _dispatch(self, queue: KeyedQueue[OutboxMessage], stop: asyncio.Event) -> None:
        async def put(rows: list[OutboxMessage]) -> None:
            self._queue_rows(queue, rows)

        await self.queue.run(stop, put)
        # replies written by the last updates handled before the stop still go out
        with left_for_next_start(logger, "the replies not read yet"):
            self._queue_rows(queue, await self.queue.rest())
        try:
            await asyncio.wait_for(queue.join(), DRAIN_SECONDS)
        except TimeoutError:
            logger.warning("%d replies left for the next start", queue.pending)
            await queue.finish(IN_FLIGHT_SECONDS)  # the sends under way end; nothing new starts

    def _queue_rows(self, queue: KeyedQueue[OutboxMessage], rows: list[OutboxMessage]) -> None:
        for row in rows:
            if row.id in self._in_hand:
                continue
            self._in_hand[row.id] = row.part
            self.queue.shares.take([row.part])
            self._blocked.discard((row.channel, row.chat_id))  # a new reply: they wrote again
            queue.put(f"{row.channel}:{row.chat_id}", row)

    async def _deliver_queued(self, row: OutboxMessage) -> None:
        try:
            await self.deliver(row)
        finally:
            if self._in_hand.pop(row.id, None) is not None:
                self.queue.shares.done([row.part])

    async def _before_first_send(self, channel: Channel, row: OutboxMessage) -> bool:
        """Marks the reply as being sent, durably, before the call; False when a reply that may have
        arrived before a crash is not to be sent again."""
        if not row.attempted:
            await until_back(functools.partial(self._attempts.add, row.id), self.outage)
            return True
        if channel.deduplicates:
            return True  # the same key: the platform shows it once
        self.metrics.sends.labels(row.channel, "uncertain").inc()
        if self.resend_uncertain:
            logger.warning("a reply in flight at a crash is sent again; the citizen may see it twice")
            return True
        await self._give_up(row, UNCERTAIN, 1)
        return False

    async def _filled(self, row: OutboxMessage) -> OutboxMessage | None:
        """The held row once its handoff job has written it; None when the job let it go with nothing
        to say, on shutdown (it waits for the next start) or after HELD_SECONDS (a job that never
        ends must not silence the chat: what it writes later goes out at the next start)."""
        deadline = asyncio.get_running_loop().time() + HELD_SECONDS
        while not self._stop.is_set():
            fresh = await until_back(functools.partial(self.repository.outbox_row, row.id), self.outage)
            if fresh is None or fresh.sent or fresh.failed:
                return None
            if not fresh.held:
                return fresh
            if asyncio.get_running_loop().time() > deadline:
                logger.error("a reply the handoff worker was to write did not come in %.0f s", HELD_SECONDS)
                return None
            await wait_for_either(self._filled_event, self._stop, HELD_POLL_SECONDS)
        return None

    async def _send(self, channel: Channel, row: OutboxMessage, buttons: list[Button]) -> str | None:
        media = row.media or {}
        if media.get("ref"):  # a file an operator sent the citizen
            kind, ref, source = (
                str(media.get("kind")),
                str(media["ref"]),
                str(media.get("source") or row.channel),
            )
            data = None
            if source != row.channel:  # another platform's file: fetched, then uploaded here
                origin = self.channels.get(source)
                if origin is None:
                    raise PermanentFailure(f"the file is on {source}, which is not configured")
                data = await origin.fetch_file(ref)
            return await channel.send_media(row.chat_id, kind, ref, row.text, key=str(row.id), data=data)
        return await channel.send(row.chat_id, row.text, buttons, key=str(row.id))

    async def _give_up(self, row: OutboxMessage, reason: str, attempts: int) -> None:
        """The reply is kept, marked failed with the reason, and no longer holds up its chat."""
        logger.error("a reply was given up: %s; see `okno dlq list`", reason)
        give_up = functools.partial(self.repository.dead_letters.give_up_reply, row, reason, attempts)
        await until_back(give_up, self.outage)

    async def deliver(self, row: OutboxMessage) -> None:
        channel = self.channels.get(row.channel)
        if channel is None or (row.channel, row.chat_id) in self._blocked:
            return
        if row.held:  # a place kept for a status answer or a ticket notice: the chat waits for it
            filled = await self._filled(row)
            if filled is None:
                return
            row = filled
        if not await self._before_first_send(channel, row):
            return
        buttons = [Button(b[0], b[1]) for b in row.buttons]
        limiter = self.limiters.get(row.channel)
        tries = Tries()
        while True:
            if limiter is not None:  # its buckets are in the state store, which may be away
                await until_back(lambda: limiter.acquire(row.chat_id), self.outage)
            try:
                message_id = await self._send(channel, row, buttons)
            except Exception as exc:  # noqa: BLE001 - a loop boundary: each failure is judged, none is lost
                self.metrics.sends.labels(row.channel, _result(exc)).inc()
                pause = await self._after_failure(row, exc, tries)
                if pause is None:
                    return
                await asyncio.sleep(pause)
                continue
            # returns once the delivery is durable, written together with others sent meanwhile;
            # a database away now must not leave a sent reply looking unsent
            self.metrics.sends.labels(row.channel, "sent").inc()
            delivery = Delivery(row.id, row.message_id, message_id)
            await until_back(functools.partial(self._deliveries.add, delivery), self.outage)
            return

    async def _after_failure(self, row: OutboxMessage, exc: Exception, tries: Tries) -> float | None:
        """How long to wait before sending again, or None when this reply is done with."""
        if isinstance(exc, ChatBlocked):
            await self._blocked_by(row)
            return None
        verdict = tries.count(exc, stopping=self._stop.is_set())
        if verdict is LEAVE:
            return None  # stays in the outbox for the next start
        if verdict is not None:
            await self._give_up(row, verdict, tries.total)
            return None
        pause = tries.pause(exc)
        logger.warning("delivery to %s failed (%s); again in %.1f s", row.channel, exc, pause)
        return pause

    async def _blocked_by(self, row: OutboxMessage) -> None:
        logger.info("a %s citizen blocked the bot; their pending replies are dropped", row.channel)
        self._blocked.add((row.channel, row.chat_id))
        await until_back(lambda: self.repository.mark_blocked(row.channel, row.chat_id), self.outage)
        if self.on_blocked is not None:
            await self.on_blocked(row.channel, row.chat_id)


LEAVE = "leave for the next start"
UNCERTAIN = (
    "in flight when the process stopped: it may have arrived, and this platform cannot drop a repeat; "
    "not sent again (OKNO_RESEND_UNCERTAIN=false). `okno dlq retry` sends it"
)


def _result(exc: Exception) -> str:
    """The send's result as /metrics counts it."""
    kinds = (
        (RetryLater, "rate_limited"),
        (TemporaryFailure, "temporary_failure"),
        (ChatBlocked, "blocked"),
        (PermanentFailure, "refused"),
    )
    return next((name for kind, name in kinds if isinstance(exc, kind)), "unexpected_error")


@dataclass
class Tries:
    """What one reply has been through, and what that means for the next try."""

    slowdowns: int = 0
    temporary: int = 0
    unexpected: int = 0

    @property
    def total(self) -> int:
        return 1 + self.slowdowns + self.temporary + self.unexpected

    def count(self, exc: Exception, stopping: bool) -> str | None:
        """None to try again, LEAVE to stop trying in this process, or the reason to give up."""
        if isinstance(exc, PermanentFailure):
            return str(exc)
        if isinstance(exc, RetryLater):
            self.slowdowns += 1
            return (
                f"still rate-limited after {MAX_SLOWDOWNS} waits: {exc}"
                if self.slowdowns > MAX_SLOWDOWNS
                else None
            )
        if isinstance(exc, TemporaryFailure):  # the platform is away: waited for, however long
            self.temporary += 1
            return LEAVE if stopping and self.temporary > 3 else None
        self.unexpected += 1  # no adapter explained it: a bug, or an answer nobody foresaw
        logger.error(
            "delivering a reply failed unexpectedly (%d of %d)", self.unexpected, MAX_UNEXPECTED, exc_info=exc
        )
        if self.unexpected >= MAX_UNEXPECTED:
            return f"failed {MAX_UNEXPECTED} times: {type(exc).__name__}: {exc}"
        return None

    def pause(self, exc: Exception) -> float:
        if isinstance(exc, RetryLater):
            return exc.seconds
        tries = self.temporary if isinstance(exc, TemporaryFailure) else self.unexpected
        return float(min(MAX_BACKOFF, 0.5 * 2**tries) * random.uniform(0.5, 1.0))  # jitter, not security
