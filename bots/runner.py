"""`okno run`: migrations, then every configured channel under one task group until a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from adapters.telegram.receiving import Polling
from adapters.vk.receiving import LongPoll
from bots.settings import Settings
from bots.web import first_sign_in, serve_web
from bots.wiring import Runtime, build_runtime
from handoff.telegram_desk import check_desks
from storage.migrate import upgrade_async

logger = logging.getLogger("okno.bots.runner")

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or `stop`): receive, handle, deliver; then shut down in order."""
    await upgrade_async(settings.database_url)
    runtime = build_runtime(settings)
    if runtime.web.inbox is not None and runtime.web_store is not None:
        await first_sign_in(settings, runtime.web_store)
    stop = stop or asyncio.Event()
    _on_signals(stop)
    try:
        await run_runtime(runtime, stop)
    finally:
        await runtime.close()
    logger.info("stopped")


async def run_runtime(runtime: Runtime, stop: asyncio.Event) -> None:
    """Receivers stop first; the update worker finishes what was received; then the outbox drains."""
    handoff = runtime.handoff
    if handoff.desk is not None:  # a group the bot cannot run tickets in stops the start, saying why
        await check_desks(handoff.desk, handoff.config.all_desks())
    delivered = asyncio.Event()

    async def updates_then_outbox() -> None:
        try:
            await runtime.updates.run(stop)
        finally:
            delivered.set()

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(updates_then_outbox(), name="updates")
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
    telegram, vk = runtime.telegram, runtime.vk
    if telegram is not None and settings.telegram_mode == "polling":
        found["telegram-polling"] = Polling(telegram.bot, runtime.repository, runtime.updates.wake).run
    if vk is not None and settings.vk_mode == "longpoll":
        found["vk-longpoll"] = LongPoll(vk.client, vk.group_id, runtime.repository, runtime.updates.wake).run
    webhooks = (telegram is not None and settings.telegram_mode == "webhook") or (
        vk is not None and settings.vk_mode == "callback"
    )
    if webhooks or runtime.web.any:  # one web server for the webhooks, the chat and the inbox
        found["web"] = lambda stop: serve_web(runtime, stop)
    return found


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or not Unix
            logger.debug("cannot install a handler for %s", sig)
