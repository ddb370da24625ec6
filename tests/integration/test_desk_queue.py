"""The inbox's two queues on both databases: each worker reads its own, pending updates are refiled
by the chats the desk has now, and the desk worker runs topics side by side, each in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text

from bots.desk_updates import DeskUpdate, DeskWorker
from handoff.ports import DeskEvent, DeskMessage
from storage.db import make_engine, make_sessions
from storage.migrate import upgrade
from storage.models import InboxUpdate
from storage.records import CITIZENS_QUEUE, DESK_QUEUE, NewUpdate
from storage.repositories import Repository

DESK_KEY = "telegram:-1001500"
WAIT = 30  # ceiling for a condition that holds at once when things work


def citizen(key: str, chat_key: str = "telegram:701") -> NewUpdate:
    return NewUpdate(key, "telegram", chat_key, {"text": key})


def desk(key: str, topic: str = "a", chat_key: str = DESK_KEY) -> NewUpdate:
    return NewUpdate(key, "telegram", chat_key, {"topic": topic, "text": key}, DESK_QUEUE)


async def pending(repository: Repository, queue: str) -> list[str]:
    return [row.key for row in await repository.pending_updates(queue, 0, 100)]


async def test_each_queue_is_read_apart(repository: Repository) -> None:
    await repository.enqueue_updates([citizen("c1"), desk("d1"), citizen("c2"), desk("d2")])
    assert await pending(repository, CITIZENS_QUEUE) == ["c1", "c2"]
    assert await pending(repository, DESK_QUEUE) == ["d1", "d2"]
    ids = [row.id for row in await repository.pending_updates(DESK_QUEUE, 0, 100)]
    every = [*ids, *(row.id for row in await repository.pending_updates(CITIZENS_QUEUE, 0, 100))]
    assert [row.key for row in await repository.updates_among(CITIZENS_QUEUE, every)] == ["c1", "c2"]
    assert [row.key for row in await repository.updates_among(DESK_QUEUE, every)] == ["d1", "d2"]


async def test_pending_updates_are_refiled_by_the_desks_chats_now(repository: Repository) -> None:
    other_group = "telegram:-1009999"
    await repository.enqueue_updates(
        [
            citizen("old-press", DESK_KEY),  # stored by the version that filed nothing
            citizen("old-done", DESK_KEY),
            citizen("hello"),
            desk("was-a-desk", chat_key=other_group),  # that group is no desk any more
            desk("press"),
        ]
    )
    [done] = [
        row for row in await repository.pending_updates(CITIZENS_QUEUE, 0, 100) if row.key == "old-done"
    ]
    await repository.mark_updates_done([done.id])

    assert await repository.refile_pending([DESK_KEY]) == (1, 1)

    assert await pending(repository, DESK_QUEUE) == ["old-press", "press"]
    assert await pending(repository, CITIZENS_QUEUE) == ["hello", "was-a-desk"]
    assert await repository.refile_pending([DESK_KEY]) == (0, 0)  # a second start moves nothing
    assert await repository.refile_pending([]) == (0, 2)  # no desk now: its updates go to the citizens
    assert await pending(repository, DESK_QUEUE) == []


async def test_rows_stored_before_the_upgrade_are_the_citizens(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url, "0008")
    engine = make_engine(empty_database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO inbox_updates (key, channel, chat_key, payload, done, received_at) "
                "VALUES ('tg:1', 'telegram', 'telegram:-1001500', '{}', false, CURRENT_TIMESTAMP)"
            )
        )
    await asyncio.to_thread(upgrade, empty_database_url)
    repository = Repository(make_sessions(engine))
    try:
        assert await pending(repository, CITIZENS_QUEUE) == ["tg:1"]
        assert await repository.refile_pending([DESK_KEY]) == (1, 0)
        assert await pending(repository, DESK_QUEUE) == ["tg:1"]
    finally:
        await engine.dispose()


def decode(payload: dict[str, Any]) -> DeskUpdate:
    if payload.get("unreadable"):
        raise ValueError("an update nobody can read")
    event = DeskMessage(DESK_KEY, 1, "9001", "Анна", str(payload["text"]))
    return DeskUpdate(str(payload["topic"]), event)


class Handled:
    """The desk's side, recording what it was given; a topic's first event may be held back."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.hold: dict[str, asyncio.Event] = {}
        self.fail = {"bad"}
        self.away_once = {"flaky"}

    async def __call__(self, event: DeskEvent) -> None:
        assert isinstance(event, DeskMessage)
        if event.text in self.hold:
            await asyncio.wait_for(self.hold[event.text].wait(), WAIT)
        if event.text in self.away_once:
            self.away_once.discard(event.text)
            raise ConnectionRefusedError("the database restarts")
        if event.text in self.fail:
            raise RuntimeError("an operator's action failed")
        self.texts.append(event.text)


async def test_topics_run_side_by_side_each_in_order(repository: Repository) -> None:
    handled = Handled()
    handled.hold["a1"] = asyncio.Event()
    await repository.enqueue_updates([desk("a1"), desk("a2"), desk("b1", "b"), desk("b2", "b")])
    worker = DeskWorker(repository, handled, decode)
    batch = asyncio.create_task(worker.handle_batch(await repository.pending_updates(DESK_QUEUE, 0, 100)))
    # topic b goes on while topic a's first event is held: were topics run one by one, this would hang
    await asyncio.wait_for(until(lambda: handled.texts == ["b1", "b2"]), WAIT)
    handled.hold["a1"].set()
    await asyncio.wait_for(batch, WAIT)
    assert handled.texts == ["b1", "b2", "a1", "a2"]
    assert await pending(repository, DESK_QUEUE) == []


async def test_a_failing_update_is_logged_and_skipped_and_an_outage_waited_out(
    repository: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    handled = Handled()
    unreadable = NewUpdate("unreadable", "telegram", DESK_KEY, {"unreadable": True}, DESK_QUEUE)
    await repository.enqueue_updates([desk("bad"), desk("after-bad"), unreadable, desk("flaky", "b")])
    worker = DeskWorker(repository, handled, decode)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    with caplog.at_level(logging.WARNING, "okno.bots.desk_updates"):
        await asyncio.wait_for(until(lambda: sorted(handled.texts) == ["after-bad", "flaky"]), WAIT)
        await repository.enqueue_updates([desk("later", "c")])  # received while the worker runs
        worker.wake()
        await asyncio.wait_for(until(lambda: "later" in handled.texts), WAIT)
        stop.set()
        await asyncio.wait_for(running, WAIT)
    assert worker.outage.waits == 1 and not worker.outage.away  # the flaky one was tried again, once
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("failed and was skipped" in m for m in failures)
    assert any("unreadable" in m for m in failures)
    assert await pending(repository, DESK_QUEUE) == []


async def test_the_desk_worker_leaves_the_citizens_updates_alone(repository: Repository) -> None:
    await repository.enqueue_updates([citizen("c1"), desk("d1")])
    handled = Handled()
    worker = DeskWorker(repository, handled, decode)
    await worker.handle_batch(await worker.queue.reader.next(100))
    assert handled.texts == ["d1"]
    assert await pending(repository, CITIZENS_QUEUE) == ["c1"]
    async with repository._sessions() as session:
        queues = (await session.execute(select(InboxUpdate.key, InboxUpdate.queue))).all()
    assert sorted(queues) == [("c1", CITIZENS_QUEUE), ("d1", DESK_QUEUE)]


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)
