"""`okno run`: migrations, then every configured channel under one task group until a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from adapters.telegram.receiving import Polling, bot_id, register_webhook, webhook_handler
from adapters.vk.callback import callback_handler
from adapters.vk.receiving import LongPoll
from bots.settings import Settings
from bots.wiring import Runtime, build_runtime
from handoff.telegram_desk import check_desks
from storage.migrate import upgrade_async

logger = logging.getLogger("okno.bots.runner")

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or `stop`): receive, handle, deliver; then shut down in order."""
    await upgrade_async(settings.database_url)
    runtime = build_runtime(settings)
    stop = stop or asyncio.Event()
    _on_signals(stop)
    try:
        await run_runtime(runtime, stop)
    finally:
        await runtime.close()
    logger.info("stopped")


async def run_runtime(runtime: Runtime, stop: asyncio.Event) -> None:
    """Receivers stop first; the inbox finishes its updates; then the outbox drains."""
    handoff = runtime.handoff
    if handoff.desk is not None:  # a group the bot cannot run tickets in stops the start, saying why
        await check_desks(handoff.desk, handoff.config.all_desks())
    delivered = asyncio.Event()

    async def inbox_then_outbox() -> None:
        try:
            await runtime.inbox.run(stop)
        finally:
            delivered.set()

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(inbox_then_outbox(), name="inbox")
        tasks.create_task(runtime.outbox.run(delivered), name="outbox")
        tasks.create_task(handoff.service.run(stop), name="handoff")
        for name, loop in (("desk-poster", handoff.poster), ("ticket-watch", handoff.watch)):
            if loop is not None:
                tasks.create_task(loop.run(stop), name=name)
        for name, receiver in receivers(runtime).items():
            tasks.create_task(receiver(stop), name=name)


def receivers(runtime: Runtime) -> dict[str, Loop]:
    settings = runtime.settings
    found: dict[str, Loop] = {}
    if runtime.telegram is not None:
        bot = runtime.telegram.bot
        if settings.telegram_mode == "polling":
            found["telegram-polling"] = Polling(bot, runtime.repository, runtime.inbox.wake).run
        else:
            found["web"] = lambda stop: serve_webhooks(runtime, stop)
    if runtime.vk is not None and settings.vk_mode == "callback":
        found["web"] = lambda stop: serve_webhooks(runtime, stop)
    elif runtime.vk is not None:
        vk = runtime.vk
        found["vk-longpoll"] = LongPoll(vk.client, vk.group_id, runtime.repository, runtime.inbox.wake).run
    return found


async def serve_webhooks(runtime: Runtime, stop: asyncio.Event) -> None:
    settings = runtime.settings
    app = web.Application(client_max_size=1024**2)
    app.router.add_get("/healthz", _health)
    telegram = runtime.telegram
    if (
        telegram is not None
        and settings.telegram_webhook_secret is not None
        and settings.telegram_mode == "webhook"
    ):
        secret = settings.telegram_webhook_secret.get_secret_value()
        me = await bot_id(telegram.bot)
        handler = webhook_handler(me, secret, runtime.repository, runtime.inbox.wake)
        app.router.add_post(settings.telegram_webhook_path, handler)
    vk = runtime.vk
    if vk is not None and settings.vk_mode == "callback" and settings.vk_confirmation:
        secret_key = settings.vk_callback_secret.get_secret_value() if settings.vk_callback_secret else None
        vk_handler = callback_handler(
            vk.group_id, secret_key, settings.vk_confirmation, runtime.repository, runtime.inbox.wake
        )
        app.router.add_post(settings.vk_callback_path, vk_handler)
    web_runner = web.AppRunner(app, access_log=None)
    await web_runner.setup()
    await web.TCPSite(web_runner, settings.web_host, settings.web_port).start()
    logger.info("listening on %s:%d", settings.web_host, settings.web_port)
    if (
        telegram is not None
        and settings.telegram_webhook_secret is not None
        and settings.telegram_mode == "webhook"
    ):
        # registered only once we listen: Telegram may call the moment it knows the address
        url = (settings.telegram_webhook_url or "").rstrip("/") + settings.telegram_webhook_path
        await register_webhook(telegram.bot, url, settings.telegram_webhook_secret.get_secret_value())
    try:
        await stop.wait()
    finally:
        await web_runner.cleanup()


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or not Unix
            logger.debug("cannot install a handler for %s", sig)
