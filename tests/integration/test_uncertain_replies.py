"""A reply is marked as being sent before the call, so one in flight at a crash is known: sent again
where the platform drops a repeat or by choice, else left as a dead letter for a person."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from adapters.base import Decoded, Ignore
from bots.outbox import UNCERTAIN, OutboxDispatcher
from dialog.messages import Button
from storage.db import make_engine, make_sessions
from storage.records import CitizenMessage
from storage.repositories import Repository
from storage.tickets import TicketStore


class RecordingChannel:
    """Records each send with whether the reply was already marked as being sent at that moment."""

    name = "test"
    max_text_length = 4096

    def __init__(self, repository: Repository, deduplicates: bool) -> None:
        self.repository = repository
        self.deduplicates = deduplicates
        self.sent: list[tuple[str, bool]] = []

    def decode(self, payload: dict[str, Any]) -> Decoded:
        return Ignore("not used")

    def display_name(self, payload: dict[str, Any]) -> str | None:
        return None

    async def acknowledge(self, payload: dict[str, Any], text: str | None = None) -> None:
        return None

    async def send(self, chat_id: str, text: str, buttons: Sequence[Button], key: str | None = None) -> str:
        row = await self.repository.outbox_row(int(key or 0))
        self.sent.append((text, bool(row and row.attempted)))
        return str(len(self.sent))


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[tuple[Repository, TicketStore]]:
    database = make_engine(database_url)
    sessions = make_sessions(database)
    yield Repository(sessions), TicketStore(sessions)
    await database.dispose()


async def deliver_all(repository: Repository, channel: RecordingChannel, resend: bool = True) -> None:
    dispatcher = OutboxDispatcher(repository, {"test": channel}, {}, 4, resend)  # type: ignore[dict-item]
    for row in await repository.pending_outbox(0, 100):
        await asyncio.wait_for(dispatcher.deliver(row), 30)


async def crashed_mid_send(repository: Repository, tickets: TicketStore, text: str) -> None:
    """A reply marked as being sent whose delivery was never recorded: the process died in the call."""
    await tickets.send_to_citizen("test", "5", [CitizenMessage(text)])
    [row] = await repository.pending_outbox(0, 100)
    await repository.mark_attempted_many([row.id])


async def test_a_reply_is_marked_before_the_call(stores: tuple[Repository, TicketStore]) -> None:
    repository, tickets = stores
    await tickets.send_to_citizen("test", "5", [CitizenMessage("первый"), CitizenMessage("второй")])
    channel = RecordingChannel(repository, deduplicates=False)
    await deliver_all(repository, channel)
    assert channel.sent == [("первый", True), ("второй", True)]
    assert await repository.pending_outbox(0, 100) == []


async def test_an_uncertain_reply_goes_to_a_person_when_resending_is_off(
    stores: tuple[Repository, TicketStore],
) -> None:
    repository, tickets = stores
    await crashed_mid_send(repository, tickets, "может, уже дошло")
    channel = RecordingChannel(repository, deduplicates=False)
    await deliver_all(repository, channel, resend=False)
    assert channel.sent == []
    [letter] = await repository.dead_letters.letters()
    assert letter.kind == "reply" and letter.reason == UNCERTAIN
    await repository.dead_letters.retry(letter.id)  # a person decides it should go
    await deliver_all(repository, channel, resend=False)
    assert [text for text, _ in channel.sent] == ["может, уже дошло"]


@pytest.mark.parametrize(("deduplicates", "resend"), [(False, True), (True, False)])
async def test_an_uncertain_reply_is_sent_again_where_a_double_is_dropped_or_by_choice(
    stores: tuple[Repository, TicketStore], deduplicates: bool, resend: bool
) -> None:
    repository, tickets = stores
    await crashed_mid_send(repository, tickets, "может, уже дошло")
    channel = RecordingChannel(repository, deduplicates)
    await deliver_all(repository, channel, resend)
    assert [text for text, _ in channel.sent] == ["может, уже дошло"]
    assert await repository.dead_letters.letters() == []
