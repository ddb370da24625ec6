"""The inbox's two queues on both databases: each worker reads its own, and pending updates are
refiled by the chats the desk has now."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from storage.db import make_engine, make_sessions
from storage.migrate import upgrade
from storage.records import CITIZENS_QUEUE, DESK_QUEUE, NewUpdate
from storage.repositories import Repository

DESK_KEY = "telegram:-1001500"


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
