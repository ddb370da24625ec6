"""The composition root: everything the processes need, built from the settings."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from secrets import token_bytes
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.base import Channel
from adapters.pacing import PACE_MARGIN, EvenPace, Pace
from adapters.web.channel import WebChannel
from bots.desk_updates import DeskWorker
from bots.handoff_wiring import HandoffParts, build_handoff, update_queues
from bots.metrics import Metrics
from bots.nudges import Nudges
from bots.outbox import OutboxDispatcher
from bots.ratelimit import RateLimiter, SharedPace
from bots.retention import FileRetention, RetentionJob
from bots.settings import Settings
from bots.updates import UpdateWorker
from bots.web import WebParts, build_web, citizen_file
from dialog.classifier import Classifier, build_classifier
from dialog.engine import ConversationEngine
from dialog.knowledge import load_knowledge
from dialog.secrets import mask_payload
from storage.db import make_engine, make_sessions
from storage.fanout import RedisFanout
from storage.file_links import keyed as file_links
from storage.partitions import Shares, partition_of
from storage.privacy_store import PrivacyStore
from storage.records import CITIZENS_QUEUE, DESK_QUEUE
from storage.repositories import Repository
from storage.state import MemoryStore, RedisStateStore, StateStore
from storage.web import WebStore

if TYPE_CHECKING:  # the SDKs themselves load only for a configured channel: see add_telegram, add_vk
    from adapters.max.channel import MaxChannel
    from adapters.telegram.channel import TelegramChannel
    from adapters.vk.channel import VkChannel

logger = logging.getLogger("okno.bots.wiring")


def build_classifier_from(settings: Settings) -> Classifier:
    started = time.perf_counter()
    classifier = build_classifier(load_knowledge(settings.knowledge_dir, settings.facts))
    logger.info(
        "knowledge base %s loaded: %d topics in %.2f s",
        classifier.knowledge.revision,
        len(classifier.knowledge.topics),
        time.perf_counter() - started,
    )
    return classifier


def build_engine(settings: Settings) -> ConversationEngine:
    return ConversationEngine(build_classifier_from(settings))


def build_state_store(settings: Settings) -> StateStore:
    if settings.redis_url:
        return RedisStateStore.from_url(settings.redis_url, settings.redis_prefix)
    return MemoryStore()


@dataclass
class Runtime:
    """The running bot's parts; `close` releases every connection."""

    settings: Settings
    database: AsyncEngine
    repository: Repository
    states: StateStore
    engine: ConversationEngine
    channels: dict[str, Channel]
    updates: UpdateWorker
    outbox: OutboxDispatcher
    handoff: HandoffParts
    telegram: TelegramChannel | None = None
    vk: VkChannel | None = None
    max: MaxChannel | None = None
    web: WebParts = field(default_factory=WebParts)
    web_store: WebStore | None = None
    metrics: Metrics = field(default_factory=Metrics)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    desk_updates: DeskWorker | None = None  # only with an operators' group in Telegram
    file_retention: FileRetention | None = None  # forgets old web chat files
    # the inbox queue each received Telegram update is filed in
    queue_of: Callable[[dict[str, Any]], str] = field(default_factory=lambda: update_queues(()))
    privacy: PrivacyStore | None = None  # the web inbox logs unmasked views in it
    retention: RetentionJob | None = None  # only with OKNO_RETENTION_DAYS set
    nudges: Nudges | None = None  # with Redis: several processes may share the service
    leading: asyncio.Event | None = None  # set while this process does the single work (the runner's)
    # the chats' partitions this process works on: all of them on the embedded default
    shares: Shares = field(default_factory=lambda: Shares(every=True))

    def wake(self, queue: str = CITIZENS_QUEUE) -> None:
        """Updates were stored in `queue`: its worker looks now, in whichever process has their chat."""
        if queue == DESK_QUEUE and self.desk_updates is not None:
            self.desk_updates.wake()
        else:
            self.updates.wake()
        self.nudge()

    def wake_chat(self, chat_key: str) -> None:
        """A citizen's update was stored: the worker of the process that has the chat looks now."""
        part = partition_of(chat_key)
        if self.shares.has(part):
            self.updates.wake()
        elif self.nudges is not None:
            self.nudges.nudge([part])

    def nudge(self) -> None:
        """Rows were stored: the other processes look now (one of them may have their chat)."""
        if self.nudges is not None:
            self.nudges.nudge()

    def wake_all(self) -> None:
        """Another process stored rows: every worker here looks now."""
        self.updates.wake()
        self.outbox.wake()
        self.handoff.service.wake()
        if self.desk_updates is not None:
            self.desk_updates.wake()

    async def close(self) -> None:
        for close in reversed(self.closers):
            try:
                await close()
            except Exception:  # closing must go on whatever one part says
                logger.exception("error while closing")


def token_pace(settings: Settings, states: StateStore, name: str, token: str, rate: float) -> Pace:
    """With Redis every process on the token shares one pace; embedded, one process paces alone."""
    if settings.redis_url is None:
        return EvenPace(rate * PACE_MARGIN)
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return SharedPace(states, f"{name}:pace:{digest}", rate * PACE_MARGIN)


def build_runtime(
    settings: Settings,
    engine: ConversationEngine | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Runtime:
    """Construct everything; nothing connects until the runner starts the loops."""
    database = make_engine(settings.database_url)
    repository = Repository(make_sessions(database), sanitize=mask_payload)
    states = build_state_store(settings)
    engine = engine or build_engine(settings)
    channels: dict[str, Channel] = {}
    limiters: dict[str, RateLimiter] = {}
    telegram = add_telegram(settings, states, channels, limiters)
    vk = add_vk(settings, states, channels)
    max_channel = add_max(settings, states, channels)
    sessions = make_sessions(database)
    closers: list[Callable[[], Awaitable[None]]] = []
    # signed file links outlive a restart only with a set secret
    link_key = settings.web_secret.get_secret_value().encode() if settings.web_secret else token_bytes(32)
    web_store = WebStore(sessions, file_links(link_key, settings.web_file_link_minutes * 60))
    web_channel = None
    if settings.web_chat:
        web_channel = WebChannel(web_store)
        if settings.redis_url:  # replies reach a citizen's socket in whichever process holds it
            fanout = RedisFanout.from_url(settings.redis_url, settings.redis_prefix)
            web_channel.fanout = fanout
            closers.append(fanout.close)
        channels[web_channel.name] = web_channel
    outbox = OutboxDispatcher(repository, channels, limiters, settings.workers, settings.resend_uncertain)
    desk_bot = telegram.bot if telegram else None
    # a citizen's file the group is sent by content: from the web chat's store or their messenger
    fetch_file = functools.partial(citizen_file, channels, web_store)
    handoff = build_handoff(settings, sessions, states, engine, desk_bot, web_store, fetch_file, clock)

    def replies_and_jobs() -> None:  # a written batch may hold replies and handoff jobs
        outbox.wake()
        handoff.service.wake()

    updates = UpdateWorker(repository, channels, engine, states, replies_and_jobs)
    handoff.wakers.callbacks += [outbox.wake, updates.wake]
    outbox.on_blocked = updates.on_blocked = handoff.service.citizen_blocked
    runtime = Runtime(
        settings, database, repository, states, engine, channels, updates, outbox, handoff, telegram, vk
    )
    runtime.web_store = web_store
    runtime.max = max_channel
    add_retention(runtime, sessions, web_store, clock)
    runtime.metrics = updates.metrics = outbox.metrics = Metrics()
    add_desk_worker(runtime)
    share_chats(runtime)
    add_nudges(runtime)
    runtime.web = build_web(runtime, web_store, web_channel)
    runtime.closers += [database.dispose, states.close, *closers]
    for channel in (telegram, vk, max_channel):
        if channel is not None:
            runtime.closers.append(channel.close)
    return runtime


def share_chats(runtime: Runtime) -> None:
    """On PostgreSQL the processes share the chats out by partition; the embedded default runs one."""
    if runtime.database.url.get_backend_name() == "sqlite":
        return
    runtime.shares = Shares()
    runtime.updates.queue.shares = runtime.outbox.queue.shares = runtime.shares
    runtime.handoff.service.queue.shares = runtime.shares
    if runtime.desk_updates is not None:
        runtime.desk_updates.queue.shares = runtime.shares


def add_nudges(runtime: Runtime) -> None:
    """With Redis, rows a process stores are a nudge to the others."""
    settings = runtime.settings
    if not settings.redis_url:
        return
    fanout = RedisFanout.from_url(settings.redis_url, settings.redis_prefix, topic="nudges")
    runtime.nudges = Nudges(fanout, runtime.wake_all, runtime.shares.has_any)
    runtime.handoff.wakers.callbacks.append(runtime.nudge)  # an operator's action in the web inbox
    runtime.closers.append(fanout.close)


def add_telegram(
    settings: Settings, states: StateStore, channels: dict[str, Channel], limiters: dict[str, RateLimiter]
) -> TelegramChannel | None:
    """The Telegram channel when a token is set; aiogram costs seconds of CPU to import, so only then."""
    if settings.telegram_token is None:
        return None
    from adapters.telegram.channel import TelegramChannel, make_bot  # noqa: PLC0415 - see above

    bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_api_url)
    telegram = TelegramChannel(bot, settings.telegram_allow_groups)
    channels[telegram.name] = telegram
    limiters[telegram.name] = RateLimiter(
        states, telegram.name, settings.telegram_rate_per_second, settings.telegram_chat_rate_per_second
    )
    return telegram


def add_vk(settings: Settings, states: StateStore, channels: dict[str, Channel]) -> VkChannel | None:
    """The VK channel when a token and a community are set; vk_api (and requests) load only then."""
    if settings.vk_token is None or not settings.vk_group_id:
        return None
    from adapters.vk.channel import VkChannel  # noqa: PLC0415 - see above
    from adapters.vk.client import VkClient  # noqa: PLC0415

    # VK counts requests, not messages: the client paces its requests and batches sends
    token = settings.vk_token.get_secret_value()
    pace = token_pace(settings, states, "vk", token, settings.vk_rate_per_second)
    client = VkClient(token, settings.vk_api_url, rate=settings.vk_rate_per_second, pace=pace)
    vk = VkChannel(client, settings.vk_group_id, settings.vk_execute_batch)
    channels[vk.name] = vk
    return vk


def add_max(settings: Settings, states: StateStore, channels: dict[str, Channel]) -> MaxChannel | None:
    """The MAX channel when a token is set; MAX counts requests a second per token, paced as VK's."""
    if settings.max_token is None:
        return None
    from adapters.max.channel import MaxChannel  # noqa: PLC0415 - only with a MAX token
    from adapters.max.client import MaxClient  # noqa: PLC0415

    token, rate = settings.max_token.get_secret_value(), settings.max_rate_per_second
    client = MaxClient(token, settings.max_api_url, rate, token_pace(settings, states, "max", token, rate))
    channel = MaxChannel(client)
    channels[channel.name] = channel
    return channel


def add_retention(
    runtime: Runtime,
    sessions: async_sessionmaker[AsyncSession],
    web_store: WebStore,
    clock: Callable[[], datetime] | None,
) -> None:
    """Nothing kept for ever: old web chat files go; idle citizens are anonymized when a period is set."""
    settings = runtime.settings
    runtime.file_retention = FileRetention(web_store, settings.web_file_retention_days, clock)
    runtime.privacy = PrivacyStore(sessions, clock) if clock is not None else PrivacyStore(sessions)
    if settings.retention_days > 0:
        runtime.retention = RetentionJob(runtime.privacy, settings.retention_days)


def add_desk_worker(runtime: Runtime) -> None:
    """With an operators' group in Telegram, its updates are filed apart and have a worker of their own."""
    handoff = runtime.handoff
    if handoff.desk is None or handoff.operators is None:
        return
    runtime.desk_updates = DeskWorker(runtime.repository, handoff.operators.handle)
    runtime.desk_updates.metrics = runtime.metrics
    runtime.queue_of = update_queues(handoff.telegram_desks)
