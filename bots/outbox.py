"""The outbox dispatcher: delivers stored replies in order per chat, within rate limits."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable

from adapters.base import Channel
from adapters.errors import ChatBlocked, PermanentFailure, RetryLater, TemporaryFailure
from bots.keyed import GroupCommit, KeyedQueue, wait_for_either
from bots.ratelimit import RateLimiter
from dialog.messages import Button
from storage.models import OutboxMessage
from storage.outage import Outage, is_outage, until_back
from storage.pending import PendingReader
from storage.records import Delivery
from storage.repositories import Repository

logger = logging.getLogger("okno.bots.outbox")

BATCH = 500
POLL_SECONDS = 1.0
MAX_BACKOFF = 30.0
DRAIN_SECONDS = 10.0  # how long shutdown waits for replies still being delivered


class OutboxDispatcher:
    def __init__(
        self,
        repository: Repository,
        channels: dict[str, Channel],
        limiters: dict[str, RateLimiter],
        concurrency: int,
    ) -> None:
        self.repository = repository
        self.channels = channels
        self.limiters = limiters
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._blocked: set[tuple[str, str]] = set()
        self._deliveries = GroupCommit(repository.mark_sent_many)
        self.outage = Outage("outbox", logger)
        self.on_blocked: Callable[[str, str], Awaitable[None]] | None = None  # set by the wiring

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        async with asyncio.TaskGroup() as tasks:
            queue: KeyedQueue[OutboxMessage] = KeyedQueue(self.deliver, self.concurrency, tasks)
            try:
                await self._dispatch(queue, stop)
            finally:
                queue.close()

    async def _dispatch(self, queue: KeyedQueue[OutboxMessage], stop: asyncio.Event) -> None:
        reader = PendingReader(self.repository.pending_outbox, self.repository.outbox_among)
        while not stop.is_set():
            rows = await until_back(lambda: reader.next(BATCH), self.outage)
            self._queue_rows(queue, rows)
            if not rows:
                await wait_for_either(self._wake, stop, POLL_SECONDS)
                self._wake.clear()
        # replies written by the last updates handled before the stop still go out
        try:
            self._queue_rows(queue, await reader.next(BATCH))
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.warning("stopping while the database is away; unread replies wait for the next start")
        try:
            await asyncio.wait_for(queue.join(), DRAIN_SECONDS)
        except TimeoutError:
            logger.warning("%d replies left for the next start", queue.pending)

    def _queue_rows(self, queue: KeyedQueue[OutboxMessage], rows: list[OutboxMessage]) -> None:
        for row in rows:
            self._blocked.discard((row.channel, row.chat_id))  # a new reply: they wrote again
            queue.put(f"{row.channel}:{row.chat_id}", row)

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

    async def deliver(self, row: OutboxMessage) -> None:
        channel = self.channels.get(row.channel)
        if channel is None or (row.channel, row.chat_id) in self._blocked:
            return
        buttons = [Button(b[0], b[1]) for b in row.buttons]
        limiter = self.limiters.get(row.channel)
        attempt = 0
        while True:
            if limiter is not None:  # its buckets are in the state store, which may be away
                await until_back(lambda: limiter.acquire(row.chat_id), self.outage)
            try:
                message_id = await self._send(channel, row, buttons)
            except RetryLater as exc:
                logger.warning("%s asks to slow down for %.1f s", row.channel, exc.seconds)
                await asyncio.sleep(exc.seconds)
                continue
            except TemporaryFailure as exc:
                attempt += 1
                if self._stop.is_set() and attempt > 3:
                    return  # stays in the outbox for the next start
                delay = min(MAX_BACKOFF, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)  # jitter, not security
                logger.warning("delivery failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            except ChatBlocked:
                logger.info("a %s citizen blocked the bot; their pending replies are dropped", row.channel)
                self._blocked.add((row.channel, row.chat_id))
                await until_back(lambda: self.repository.mark_blocked(row.channel, row.chat_id), self.outage)
                if self.on_blocked is not None:
                    await self.on_blocked(row.channel, row.chat_id)
                return
            except PermanentFailure as exc:
                logger.error("a reply was refused for good: %s", exc)
                failed = functools.partial(self.repository.mark_failed, row.id, str(exc))
                await until_back(failed, self.outage)
                return
            # returns once the delivery is durable, written together with others sent meanwhile;
            # a database away now must not leave a sent reply looking unsent
            delivery = Delivery(row.id, row.message_id, message_id)
            await until_back(functools.partial(self._deliveries.add, delivery), self.outage)
            return
