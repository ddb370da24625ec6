"""Chats divided into a fixed number of partitions: each queue row carries its chat's partition, and
each process reads the rows of the partitions it holds now (`Shares`).

A chat's inbox updates, replies and handoff jobs share one partition, so one process handles all of
a chat's work, in order. The number is fixed: rows keep the partition they were written with.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, select

PARTITIONS = 32


def partition_of(chat_key: str) -> int:
    """The partition of a chat by its key, `<channel>:<chat id>` (stable across processes and
    restarts, unlike `hash`)."""
    return zlib.crc32(chat_key.encode("utf-8", "replace")) % PARTITIONS


def chat_partition(channel: str, chat_id: str) -> int:
    return partition_of(f"{channel}:{chat_id}")


class Shares:
    """The partitions this process works on now, and how many rows of each it has in hand.

    `mine()` is None when the process has every partition for good (the embedded default): its
    readers then filter nothing. A partition is given back only once nothing of it is in hand;
    `generation` grows whenever partitions are added, so readers read those from the start.
    """

    def __init__(self, every: bool = False) -> None:
        self.every = every
        self.active: frozenset[int] = frozenset(range(PARTITIONS)) if every else frozenset()
        self.generation = 0
        self.in_hand: Counter[int] = Counter()

    def has(self, part: int) -> bool:
        return self.every or part in self.active

    def has_any(self, parts: Iterable[int]) -> bool:
        return self.every or not self.active.isdisjoint(parts)

    def mine(self) -> list[int] | None:
        return None if self.every else sorted(self.active)

    def add(self, parts: Iterable[int]) -> None:
        fresh = frozenset(parts) - self.active
        if fresh:
            self.active |= fresh
            self.generation += 1

    def remove(self, parts: Iterable[int]) -> None:
        """No more rows of these are read; those in hand are finished."""
        self.active -= frozenset(parts)

    def clear(self) -> None:
        """Everything is lost at once (the work is cancelled with it)."""
        self.active = frozenset()
        self.in_hand.clear()
        self.generation += 1

    def take(self, parts: Iterable[int]) -> None:
        self.in_hand.update(parts)

    def done(self, parts: Iterable[int]) -> None:
        self.in_hand.subtract(parts)
        for part in [p for p, count in self.in_hand.items() if count <= 0]:
            del self.in_hand[part]

    def idle(self, part: int) -> bool:
        return self.in_hand[part] <= 0


def filtered(query: Select[Any], column: Any, parts: list[int] | None) -> Select[Any]:
    """A queue read of these partitions' rows; unchanged for a process that has them all (None)."""
    return query if parts is None else query.where(column.in_(parts))


def settled_ids(model: Any, pending: ColumnElement[bool], ids: list[int], parts: list[int]) -> Select[Any]:
    """Of ids a filtered reader jumped over, those that are in the table and not its pending work:
    another partition's rows, or rows done already (the rest are inserts not committed yet)."""
    return select(model.id).where(model.id.in_(ids), ~(pending & model.part.in_(parts)))
