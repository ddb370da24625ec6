"""The operators' groups have a queue and a worker of their own: a press in the group is handled while
the citizens' worker is stuck, and updates stored by the version before the queues are refiled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from sqlalchemy import select

from adapters.telegram.receiving import new_update
from bots.wiring import Runtime, build_runtime
from dialog.engine import ConversationEngine
from storage.db import make_engine, make_sessions
from storage.models import InboxUpdate
from storage.records import CITIZENS_QUEUE, DESK_QUEUE
from storage.repositories import Repository
from tests.e2e.conftest import Backend, free_port, make_settings, running
from tests.e2e.desk_helpers import (
    ANNA,
    CHAT,
    DESK,
    OTHER,
    Clock,
    button,
    desk_settings,
    open_ticket,
    press,
    to_citizen,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_wire import bot_id_of

WAIT = 30.0  # ceiling for what happens within a second when things work
DESK_KEY = f"telegram:{DESK}"


async def stored_queues(repository: Repository) -> list[tuple[str, str, bool]]:
    """(chat key, queue, done) of every stored update."""
    async with repository._sessions() as session:
        query = select(InboxUpdate.chat_key, InboxUpdate.queue, InboxUpdate.done).order_by(InboxUpdate.id)
        return [(str(key), str(queue), bool(done)) for key, queue, done in await session.execute(query)]


def hold(runtime: Runtime) -> tuple[asyncio.Event, asyncio.Event]:
    """The citizens' worker blocks on its next batch until released; returns (stuck, release)."""
    stuck, release = asyncio.Event(), asyncio.Event()
    handle_batch: Callable[[list[InboxUpdate]], Awaitable[None]] = runtime.updates.handle_batch

    async def held(rows: list[InboxUpdate]) -> None:
        stuck.set()
        await release.wait()
        await handle_batch(rows)

    runtime.updates.handle_batch = held  # type: ignore[method-assign]
    return stuck, release


async def test_an_operators_press_is_handled_while_the_citizens_worker_is_stuck(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    async with running(desk_settings(fake, backend), engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        stuck, release = hold(runtime)
        fake.message_update(OTHER, "как оплатить госпошлину")  # another citizen's question: the worker sticks
        await asyncio.wait_for(stuck.wait(), WAIT)
        try:
            await press(fake, ticket.card_message_id, "Взять", ANNA)
            await fake.wait_for(lambda f: "в работе" in f.topics[ticket.thread_id]["name"], WAIT)
            fake.topic_update(DESK, ticket.thread_id, ANNA, "Анна", "Добрый день! Смотрю ваше обращение.")
            await fake.wait_for(lambda f: "Анна: Добрый день! Смотрю ваше обращение." in to_citizen(f), WAIT)
            assert to_citizen(fake, OTHER) == []  # the citizens' worker was held all along
        finally:
            release.set()
        await fake.wait_for(lambda f: any("пошлин" in t.lower() for t in to_citizen(f, OTHER)), WAIT)
        stored = await stored_queues(runtime.repository)
    from_desk = [(queue, done) for key, queue, done in stored if key == DESK_KEY]
    assert len(from_desk) == 2 and set(from_desk) == {(DESK_QUEUE, True)}  # the press and the message
    from_citizens = {queue for key, queue, _ in stored if key in (f"telegram:{CHAT}", f"telegram:{OTHER}")}
    assert from_citizens == {CITIZENS_QUEUE}


async def test_a_press_stored_by_the_version_before_the_queues_is_handled_after_the_upgrade(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    settings = desk_settings(fake, sqlite_backend)
    async with running(settings, engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime)
        await press_shown(fake, ticket.card_message_id)
    # the previous version stored an operator's press in its one queue, then stopped before handling it
    card = fake.messages[(str(DESK), ticket.card_message_id)]
    query = {"id": "old-1", "from": {"id": ANNA, "is_bot": False, "first_name": "Анна"}, "chat_instance": "c"}
    query |= {"data": button(fake, ticket.card_message_id, "Взять"), "message": card}
    payload: dict[str, Any] = {"update_id": 999_999, "callback_query": query}
    database = make_engine(settings.database_url)
    try:
        await Repository(make_sessions(database)).enqueue_updates(
            [new_update(bot_id_of(fake.token), payload)]
        )
    finally:
        await database.dispose()

    async with running(settings, engine, clock=Clock()) as runtime:
        await fake.wait_for(lambda f: "в работе" in f.topics[ticket.thread_id]["name"], WAIT)
        stored = await stored_queues(runtime.repository)
    assert stored[-1] == (DESK_KEY, DESK_QUEUE, True)


async def test_the_desk_worker_runs_only_with_an_operators_group(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    group = {"id": DESK, "type": "supergroup", "title": "Операторы"}
    in_group = {"update_id": 1, "my_chat_member": {"chat": group}}
    for settings, worker, queue in (
        (make_settings(fake, sqlite_backend), False, CITIZENS_QUEUE),
        (desk_settings(fake, sqlite_backend), True, DESK_QUEUE),
    ):
        runtime = build_runtime(settings, engine)
        try:
            assert (runtime.desk_updates is not None, runtime.queue_of(in_group)) == (worker, queue)
        finally:
            await runtime.close()


async def press_shown(fake: FakeTelegram, card_id: int) -> None:
    def shown(f: FakeTelegram) -> bool:
        markup = f.messages.get((str(DESK), card_id), {}).get("reply_markup") or {}
        return any(b["text"] == "Взять" for row in markup.get("inline_keyboard", []) for b in row)

    await fake.wait_for(shown, WAIT)


async def test_a_webhook_files_the_groups_updates_for_the_desk(
    fake: FakeTelegram, sqlite_backend: Backend, engine: ConversationEngine
) -> None:
    port = free_port()
    secret = "s3cret-token_1"
    settings = desk_settings(
        fake,
        sqlite_backend,
        telegram_mode="webhook",
        telegram_webhook_url="https://bot.example.org",
        telegram_webhook_secret=secret,
        web_port=port,
    )
    person = {"id": ANNA, "is_bot": False, "first_name": "Анна"}
    group = {"id": DESK, "type": "supergroup", "title": "Операторы", "is_forum": True}
    in_group = {"message_id": 1, "date": 1700000000, "text": "коллеги, привет", "chat": group, "from": person}
    citizen = {"id": CHAT, "is_bot": False, "first_name": "Иван"}
    private = {"message_id": 2, "date": 1700000000, "text": "привет", "chat": citizen | {"type": "private"}}
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with running(settings, engine) as runtime, aiohttp.ClientSession() as http:
        await fake.wait_for(lambda f: bool(f.calls_of("setWebhook")), WAIT)
        for update_id, message in ((1, in_group), (2, private | {"from": citizen})):
            async with http.post(
                url, json={"update_id": update_id, "message": message}, headers=headers
            ) as r:
                assert r.status == 200
        await fake.wait_for(lambda f: bool(to_citizen(f)), WAIT)
        for _ in range(int(WAIT * 100)):  # the group's update is done by the desk worker
            stored = await stored_queues(runtime.repository)
            if all(done for _, _, done in stored):
                break
            await asyncio.sleep(0.01)
    assert stored == [(DESK_KEY, DESK_QUEUE, True), (f"telegram:{CHAT}", CITIZENS_QUEUE, True)]
