"""`okno run`: migrations, then every configured channel under one task group until a signal."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import signal

from bots.leadership import Leadership, Loop
from bots.settings import Settings
from bots.web import first_sign_in, serve_web
from bots.wiring import Runtime, build_runtime
from storage.leases import Always, Lease, lease_for
from storage.migrate import upgrade_async
from storage.partition_leases import PartitionLease

logger = logging.getLogger("okno.bots.runner")


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or `stop`): receive, handle, deliver; then shut down in order."""
    runtime = build_runtime(settings)
    try:
        lease = lease_for(runtime.database)
        # the embedded default refuses a second process on its file here, before anything runs
        await lease.acquire()
        await upgrade_async(settings.database_url, runtime.database)
        if runtime.web.inbox is not None and runtime.web_store is not None:
            await first_sign_in(settings, runtime.web_store)
        stop = stop or asyncio.Event()
        _on_signals(stop)
        # the ~300,000 objects built at start (the knowledge base, the language resources) live as
        # long as the process: kept out of the collector, a full collection under load no longer
        # stops the event loop for ~200 ms (not collected first: that would cost the start 200 ms)
        gc.freeze()
        await run_runtime(runtime, stop, lease)
    finally:
        await runtime.close()
    logger.info("stopped")


async def run_runtime(runtime: Runtime, stop: asyncio.Event, lease: Lease | None = None) -> None:
    """Every process serves the web (webhooks, the chat, the inbox) and works on its share of the
    chats; the one holding the single lease also receives by polling and runs the single jobs."""
    handoff = runtime.handoff
    if handoff.desk is not None:  # a group the bot cannot run tickets in stops the start, saying why
        from adapters.telegram.desk import check_desks  # noqa: PLC0415 - aiogram only with a Telegram token

        await check_desks(handoff.desk, handoff.config.all_desks())
    if runtime.max is not None:  # a refused token stops the start here, before any work is under way
        from adapters.max.receiving import check_token  # noqa: PLC0415 - only with a MAX token

        await check_token(runtime.max.client)
    single = Leadership(lease or lease_for(runtime.database), functools.partial(single_work, runtime))
    chats = Leadership(
        chats_lease(runtime, single.grace),
        functools.partial(queue_work, runtime),
        what="its share of the chats",
    )
    runtime.leading = single.leading
    async with asyncio.TaskGroup() as tasks:
        if web_served(runtime):
            tasks.create_task(serve_web(runtime, stop), name="web")
        if runtime.nudges is not None:
            tasks.create_task(runtime.nudges.run(stop), name="nudges")
        tasks.create_task(single.run(stop), name="single-work")
        tasks.create_task(chats.run(stop), name="chats-work")


def chats_lease(runtime: Runtime, grace: float) -> Lease:
    """On PostgreSQL the partitions are shared out between the processes; the embedded default's one
    process has them all."""
    if runtime.shares.every:
        return Always()
    return PartitionLease(runtime.database, runtime.shares, grace)


async def queue_work(runtime: Runtime, stop: asyncio.Event) -> None:
    """The chats' queues: the update workers finish what was received; then the outbox drains."""
    await refile_updates(runtime)
    workers: dict[str, Loop] = {"updates": runtime.updates.run}
    if runtime.desk_updates is not None:
        workers["desk-updates"] = runtime.desk_updates.run
    delivered = asyncio.Event()
    running = set(workers)

    async def then_outbox(name: str, worker: Loop) -> None:
        try:
            await worker(stop)
        finally:  # the replies written by the last of them go out before the outbox stops
            running.discard(name)
            if not running:
                delivered.set()

    async with asyncio.TaskGroup() as tasks:
        for name, worker in workers.items():
            tasks.create_task(then_outbox(name, worker), name=name)
        tasks.create_task(runtime.outbox.run(delivered), name="outbox")
        tasks.create_task(runtime.handoff.service.run(stop), name="handoff")


async def single_work(runtime: Runtime, stop: asyncio.Event) -> None:
    async with asyncio.TaskGroup() as tasks:
        for name, loop in single_loops(runtime).items():
            tasks.create_task(loop(stop), name=name)


async def refile_updates(runtime: Runtime) -> None:
    """Before the workers start, pending updates go to the queue the settings now say: those stored by
    a version that filed nothing, or while a group was not (or was) an operators' group. Each process
    does it (the same change: a second one finds nothing to move)."""
    keys: list[str] = []
    if runtime.handoff.telegram_desks:  # only with a Telegram token, so aiogram is loaded already
        from adapters.telegram.mapping import CHANNEL as TELEGRAM  # noqa: PLC0415

        keys = [f"{TELEGRAM}:{chat}" for chat in runtime.handoff.telegram_desks]
    to_desk, to_citizens = await runtime.repository.refile_pending(keys)
    if to_desk or to_citizens:
        logger.info(
            "pending updates refiled: %d to the operators' groups' queue, %d to the citizens'",
            to_desk,
            to_citizens,
        )


def single_loops(runtime: Runtime) -> dict[str, Loop]:
    """The work that must be single: the pollers (Telegram answers a second one with 409), the
    group's poster, the ticket watch and the retention jobs."""
    settings, handoff = runtime.settings, runtime.handoff
    found: dict[str, Loop] = {}
    telegram, vk = runtime.telegram, runtime.vk
    # each SDK's receiver loads with its channel: aiogram and vk_api only when their token is set
    if telegram is not None and settings.telegram_mode == "polling":
        from adapters.telegram.receiving import Polling  # noqa: PLC0415

        polling = Polling(telegram.bot, runtime.repository, runtime.wake, runtime.queue_of)
        found["telegram-polling"] = polling.run
    if vk is not None and settings.vk_mode == "longpoll":
        from adapters.vk.receiving import LongPoll  # noqa: PLC0415

        found["vk-longpoll"] = LongPoll(vk.client, vk.group_id, runtime.repository, runtime.updates.wake).run
    if runtime.max is not None and settings.max_mode == "longpoll":
        from adapters.max.receiving import LongPoll as MaxLongPoll  # noqa: PLC0415

        found["max-longpoll"] = MaxLongPoll(runtime.max.client, runtime.repository, runtime.updates.wake).run
    for name, job in (
        ("desk-poster", handoff.poster),
        ("ticket-watch", handoff.watch),
        ("retention", runtime.retention),
        ("web-file-retention", runtime.file_retention),
    ):
        if job is not None:
            found[name] = job.run
    return found


def web_served(runtime: Runtime) -> bool:
    """One web server for the webhooks, the chat and the inbox, if any of them is on."""
    settings, telegram, vk = runtime.settings, runtime.telegram, runtime.vk
    webhooks = (
        (telegram is not None and settings.telegram_mode == "webhook")
        or (vk is not None and settings.vk_mode == "callback")
        or (runtime.max is not None and settings.max_mode == "webhook")
    )
    return webhooks or runtime.web.any


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or not Unix
            logger.debug("cannot install a handler for %s", sig)
