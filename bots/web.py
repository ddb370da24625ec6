"""The one aiohttp app: webhooks, the citizens' web chat and the operators' web inbox."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.base import Channel
from adapters.web.channel import WebChannel
from adapters.web.embedding import Contacts
from adapters.web.files import FileQuotas
from adapters.web.guards import harden
from adapters.web.server import ChatLimits, WebChat
from bots.keyed import GroupCommit
from bots.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bots.settings import Settings
from dialog.ticket_talk import AttachmentPolicy
from dialog.tickets import Ticket
from handoff.accounts import UNNAMED, Role, SessionSigner, hash_password
from handoff.signin import PasswordPool
from handoff.web_feed import InboxFeed
from handoff.web_files import CitizenFiles
from handoff.web_guard import InboxGuard
from handoff.web_inbox import WebInbox
from handoff.web_settings import InboxSettings
from handoff.web_stats import StatsPages, stats_page
from handoff.web_tickets import TicketPages
from storage.db import make_sessions
from storage.file_links import LOCAL_FILE
from storage.queues import queue_snapshot
from storage.records import NewUpdate
from storage.stats import stats_of
from storage.web import AccountExists, WebStore

if TYPE_CHECKING:
    from bots.wiring import Runtime

logger = logging.getLogger("okno.bots.web")

FIRST_LOGIN = "admin"
READY_TIMEOUT = 2.0  # a probe that waits longer than this is itself a failure


@dataclass
class WebParts:
    chat: WebChat | None = None
    inbox: WebInbox | None = None

    @property
    def any(self) -> bool:
        return self.chat is not None or self.inbox is not None


def client_address(trusted: frozenset[str]) -> Callable[[web.Request], str]:
    """The address a request came from: behind trusted proxies, the last one they did not add."""

    def address_of(request: web.Request) -> str:
        remote = request.remote or "unknown"
        if remote not in trusted:
            return remote
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        for hop in reversed(hops):  # appended by each proxy: the rightmost untrusted one is the client
            if hop not in trusted:
                return hop
        return remote

    return address_of


def build_web(runtime: Runtime, store: WebStore, channel: WebChannel | None) -> WebParts:
    settings = runtime.settings
    parts = WebParts()
    address_of = client_address(frozenset(settings.web_trusted_proxies))
    policy = AttachmentPolicy.from_facts(runtime.engine.knowledge.facts)
    if channel is not None:
        limits = ChatLimits(
            per_socket_per_second=settings.web_chat_rate_per_second,
            per_ip_per_second=settings.web_chat_ip_rate_per_second,
            file_bytes=policy.max_bytes,
            file_limit_text=policy.limit,
            voice_seconds=policy.voice_seconds,
            voice_limit_text=policy.voice_limit,
            allowed_origins=tuple(settings.web_allowed_origins),
            new_visitors_per_address=settings.web_chat_new_per_hour,
            new_visitors_at_once=settings.web_chat_new_at_once,
            sockets_per_address=settings.web_chat_sockets_per_address,
            sockets_in_all=settings.web_chat_sockets_max,
            files=FileQuotas(
                per_visitor=settings.web_files_per_visitor_per_day,
                bytes_per_visitor=int(settings.web_file_mb_per_visitor_per_day * 1024 * 1024),
                per_address=settings.web_files_per_address_per_day,
                bytes_per_address=int(settings.web_file_mb_per_address_per_day * 1024 * 1024),
            ),
        )
        repository = runtime.repository

        async def write(updates: list[NewUpdate]) -> None:
            await repository.enqueue_updates(updates)

        # sockets' messages arriving together are stored in one transaction, each acked once durable
        stored: GroupCommit[NewUpdate] = GroupCommit(write)
        parts.chat = WebChat(
            channel,
            stored.add,
            runtime.wake_chat,
            runtime.states.take_token,
            limits,
            address_of,
            other_ways(runtime),
            runtime.states,
        )
    parts.inbox = build_inbox(runtime, store, policy, address_of)
    return parts


def build_inbox(
    runtime: Runtime, store: WebStore, policy: AttachmentPolicy, address_of: Callable[[web.Request], str]
) -> WebInbox | None:
    """The operators' inbox from its parts, if it is on and there are tickets to work."""
    settings, handoff = runtime.settings, runtime.handoff
    if not settings.web_inbox or handoff.operators is None or handoff.canned is None:
        return None
    secret = settings.web_secret.get_secret_value().encode() if settings.web_secret else None
    if secret is None:
        logger.warning("OKNO_WEB_SECRET is not set: operators sign in again after every restart")
    options = InboxSettings(
        attachments=policy,
        situations=handoff.situations,
        categories=handoff.categories,
        mask_identification=handoff.config.mask_identification,
        secure_cookies=settings.web_secure_cookies,
    )
    signer = SessionSigner(secret or secrets.token_bytes(32))
    # scrypt takes a core for ~50-80 ms: never on the event loop, and at most half the cores, so
    # that checks at the sign-in budget's rate leave the chat a core of its own
    passwords = PasswordPool(min((os.cpu_count() or 2) // 2, 4))
    return WebInbox(
        InboxGuard(store, signer, runtime.states, options, passwords, address_of),
        TicketPages(handoff.store, store, handoff.operators, handoff.canned, options, unmasked_view(runtime)),
        CitizenFiles(handoff.store, store, functools.partial(citizen_file, runtime.channels, store)),
        InboxFeed(store),
        StatsPages(lambda: stats_page(functools.partial(stats_of, runtime.database))),
    )


def unmasked_view(runtime: Runtime) -> Callable[[str, Ticket], Awaitable[None]] | None:
    """The access log's entry for a ticket's page opened with the citizen's data unmasked."""
    privacy = runtime.privacy
    if privacy is None:
        return None

    async def log(login: str, ticket: Ticket) -> None:
        await privacy.record_view(f"inbox:{login}", ticket.number, ticket.channel, ticket.user_id)

    return log


async def citizen_file(
    channels: Mapping[str, Channel], store: WebStore, channel: str, ref: str
) -> bytes | None:
    """A file a citizen sent: kept by the web chat, or fetched from their messenger by its ref."""
    if ref.startswith(LOCAL_FILE):
        return await store.file_data(ref.removeprefix(LOCAL_FILE))
    source = channels.get(channel)
    return None if source is None else await source.fetch_file(ref)


def other_ways(runtime: Runtime) -> Contacts:
    """Where a citizen on a site that may not show the chat can reach us: what this deployment runs."""
    username: Callable[[], Awaitable[str | None]] | None = None
    if runtime.telegram is not None:
        bot = runtime.telegram.bot

        async def bot_username() -> str | None:
            return (await bot.me()).username  # asked once, then kept by aiogram

        username = bot_username
    vk_group = runtime.vk.group_id if runtime.vk is not None else None
    max_name = runtime.max.bot_name if runtime.max is not None else None
    return Contacts.of(runtime.engine.knowledge.facts, vk_group, username, max_name)


async def first_sign_in(settings: Settings, store: WebStore) -> None:
    """With no account yet, make a supervisor and say once how to sign in, so a newcomer can start."""
    if not settings.web_inbox or await store.accounts():
        return
    password = secrets.token_urlsafe(9)
    try:  # named by its owner at the first sign-in (handoff.accounts.UNNAMED)
        await store.add_account(FIRST_LOGIN, UNNAMED, Role.SUPERVISOR.value, hash_password(password))
    except AccountExists:  # processes started together on a new database: another one made it
        logger.info("the first account was made by another process: its output shows how to sign in")
        return
    base = f"http://{settings.web_host}:{settings.web_port}"
    sys.stderr.write(
        f"\nОкно: операторская — {base}/inbox\n"
        f"  первый вход: логин {FIRST_LOGIN}, пароль {password} (затем укажите своё имя)\n"
        f"  (свои учётные записи: okno operators add ЛОГИН --role operator; "
        f"этот пароль сменить: okno operators passwd {FIRST_LOGIN})\n"
        f"Чат для граждан — {base}/chat\n\n"
    )


async def serve_web(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = runtime.settings
    app = web.Application(client_max_size=1024**2)
    app.on_response_prepare.append(harden)  # every response: the chat's, the inbox's, webhooks', errors
    app.router.add_get("/healthz", _health)
    app.router.add_get("/readyz", functools.partial(_ready, runtime))
    app.router.add_get("/metrics", functools.partial(_metrics, runtime, make_sessions(runtime.database)))
    if runtime.web.chat is not None:
        runtime.web.chat.routes(app)
    if runtime.web.inbox is not None:
        runtime.web.inbox.routes(app)
    registrations = await _webhooks(runtime, app)
    web_runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await web_runner.setup()
    await web.TCPSite(web_runner, settings.web_host, settings.web_port).start()
    logger.info("listening on %s:%d", settings.web_host, settings.web_port)
    for register in registrations:  # registered only once we listen: the messenger may call at once
        await register()
    try:
        async with asyncio.TaskGroup() as tasks:
            if runtime.web.inbox is not None:
                tasks.create_task(runtime.web.inbox.feed.run(stop), name="inbox-feed")
            if runtime.web.chat is not None:
                channel = runtime.web.chat.channel
                tasks.create_task(channel.fanout.run(channel.hub.publish, stop), name="web-chat-fanout")
            await stop.wait()
    finally:
        await web_runner.cleanup()
        if runtime.web.inbox is not None:
            runtime.web.inbox.guard.passwords.close()


async def _webhooks(runtime: Runtime, app: web.Application) -> list[Callable[[], Awaitable[None]]]:
    """Telegram's, VK's and MAX's webhook routes; returns the registrations to run once listening."""
    settings, telegram, vk = runtime.settings, runtime.telegram, runtime.vk
    registrations: list[Callable[[], Awaitable[None]]] = []
    if telegram is not None and settings.telegram_mode == "webhook" and settings.telegram_webhook_secret:
        from adapters.telegram.receiving import (  # noqa: PLC0415 - aiogram only with a Telegram token
            bot_id,
            register_webhook,
            webhook_handler,
        )

        secret = settings.telegram_webhook_secret.get_secret_value()
        me = await bot_id(telegram.bot)
        app.router.add_post(
            settings.telegram_webhook_path,
            webhook_handler(me, secret, runtime.repository, runtime.wake, runtime.queue_of),
        )
        url = (settings.telegram_webhook_url or "").rstrip("/") + settings.telegram_webhook_path
        registrations.append(functools.partial(register_webhook, telegram.bot, url, secret))

    if vk is not None and settings.vk_mode == "callback" and settings.vk_confirmation:
        from adapters.vk.callback import callback_handler  # noqa: PLC0415 - vk_api only with a VK token

        key = settings.vk_callback_secret.get_secret_value() if settings.vk_callback_secret else None
        handler = callback_handler(
            vk.group_id, key, settings.vk_confirmation, runtime.repository, runtime.wake
        )
        app.router.add_post(settings.vk_callback_path, handler)
    if runtime.max is not None and settings.max_mode == "webhook" and settings.max_webhook_url:
        from adapters.max.receiving import subscribe  # noqa: PLC0415 - only with a MAX token
        from adapters.max.receiving import webhook_handler as max_webhook  # noqa: PLC0415

        max_secret = settings.max_webhook_secret.get_secret_value() if settings.max_webhook_secret else None
        app.router.add_post(
            settings.max_webhook_path, max_webhook(max_secret, runtime.repository, runtime.wake)
        )
        registrations.append(
            functools.partial(subscribe, runtime.max.client, settings.max_webhook_url, max_secret)
        )
    return registrations


async def _health(_request: web.Request) -> web.Response:
    """Alive: the process answers. An outage of a service it needs is /readyz's business."""
    return web.json_response({"ok": True})


async def _metrics(
    runtime: Runtime, sessions: async_sessionmaker[AsyncSession], _request: web.Request
) -> web.Response:
    """Prometheus's text format: the workers' counters and the queues read from the database now."""
    body = await runtime.metrics.render(lambda: queue_snapshot(sessions), datetime.now(UTC))
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def _ready(runtime: Runtime, _request: web.Request) -> web.Response:
    """Ready: the database, the state store and the messengers' APIs answer now (503 with the
    reason if not)."""

    async def database() -> None:
        async with runtime.database.connect() as connection:
            await connection.execute(text("SELECT 1"))

    checks: dict[str, Callable[[], Awaitable[object]]] = {
        "database": database,
        "state_store": runtime.states.ping,
    }
    if runtime.telegram is not None:
        checks["telegram"] = runtime.telegram.bot.get_me
    if runtime.vk is not None:
        vk = runtime.vk
        checks["vk"] = lambda: vk.client.call("groups.getById", group_id=vk.group_id)
    if runtime.max is not None:
        max_client = runtime.max.client
        checks["max"] = lambda: max_client.call("GET", "/me")
    found: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT)
            found[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure is the answer, not an error of this page
            found[name] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in found.values())
    return web.json_response({"ready": ready, **found}, status=200 if ready else 503)
