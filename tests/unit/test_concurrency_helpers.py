import asyncio

import pytest

from bots.keyed import GroupCommit, KeyedQueue
from dialog.splitting import split_text


def test_split_keeps_short_text_whole() -> None:
    assert split_text("  коротко  ", 4096) == ["коротко"]
    assert split_text("", 10) == [""]


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    text = "первый абзац текста\n\nвторой абзац\nс переносом строки и словами"
    assert split_text(text, 25) == ["первый абзац текста", "второй абзац", "с переносом строки и", "словами"]
    assert all(len(p) <= 25 for p in split_text(text, 25))


def test_split_cuts_a_word_only_when_nothing_else_is_left() -> None:
    assert split_text("а" * 25, 10) == ["а" * 10, "а" * 10, "а" * 5]
    with pytest.raises(ValueError):
        split_text("x", 0)


async def test_keyed_queue_keeps_order_per_key_and_runs_keys_together() -> None:
    done: list[str] = []
    running = 0
    most = 0

    async def handle(item: str) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01 if item.endswith("1") else 0)
        done.append(item)
        running -= 1

    async with asyncio.TaskGroup() as tasks:
        queue: KeyedQueue[str] = KeyedQueue(handle, 4, tasks)
        for i in range(1, 4):
            queue.put("a", f"a{i}")
            queue.put("b", f"b{i}")
        await queue.join()
        queue.close()
    assert [d for d in done if d[0] == "a"] == ["a1", "a2", "a3"]
    assert [d for d in done if d[0] == "b"] == ["b1", "b2", "b3"]
    assert most == 2  # one worker per key at a time, both keys at once


async def test_a_failing_item_does_not_stop_its_key() -> None:
    done: list[int] = []

    async def handle(item: int) -> None:
        if item == 1:
            raise RuntimeError("boom")
        done.append(item)

    async with asyncio.TaskGroup() as tasks:
        queue: KeyedQueue[int] = KeyedQueue(handle, 1, tasks)
        for item in (1, 2, 3):
            queue.put("k", item)
        await queue.join()
        queue.close()
    assert done == [2, 3]


async def test_group_commit_writes_concurrent_items_together_and_reports_failures() -> None:
    writes: list[list[int]] = []

    async def write(items: list[int]) -> None:
        await asyncio.sleep(0.01)
        if 13 in items:
            raise OSError("disk full")
        writes.append(items)

    commit: GroupCommit[int] = GroupCommit(write)
    await asyncio.gather(*(commit.add(i) for i in range(5)))
    assert sorted(i for batch in writes for i in batch) == [0, 1, 2, 3, 4]
    assert len(writes) == 2  # the first item alone, then the four that waited meanwhile
    with pytest.raises(OSError, match="disk full"):
        await commit.add(13)


async def test_finish_lets_the_items_in_progress_end_and_starts_nothing_new() -> None:
    started: list[str] = []
    ended: list[str] = []
    release = asyncio.Event()

    async def handle(item: str) -> None:
        started.append(item)
        await release.wait()  # a send waiting for the platform's answer
        ended.append(item)

    async with asyncio.TaskGroup() as tasks:
        queue: KeyedQueue[str] = KeyedQueue(handle, 2, tasks)
        queue.put("chat-1", "a1")
        queue.put("chat-1", "a2")
        queue.put("chat-2", "b1")
        while len(started) < 2:
            await asyncio.sleep(0)
        finishing = asyncio.create_task(queue.finish(timeout=60))
        await asyncio.sleep(0)
        assert not finishing.done()  # it waits for the sends under way
        release.set()
        await finishing
    assert sorted(ended) == ["a1", "b1"]  # completed, not cut off
    assert "a2" not in started  # left for the next start
