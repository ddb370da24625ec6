"""An update that cannot be handled is given up with its reason, never holds up the others, and
`okno dlq` shows it and puts it back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select

from adapters.base import Decoded
from bots.cli import main
from bots.updates import UpdateWorker
from dialog.engine import ConversationEngine
from dialog.messages import Button, InboundMessage
from storage.db import make_engine, make_sessions
from storage.models import HandoffJob, InboxUpdate
from storage.records import CITIZENS_QUEUE, CitizenMessage, NewUpdate
from storage.repositories import Repository
from storage.state import MemoryStore
from storage.tickets import TicketStore


class PickyChannel:
    """A channel whose decoding refuses updates marked «boom», as a bug or an odd value would."""

    name = "test"
    max_text_length = 4096
    deduplicates = False

    def decode(self, payload: dict[str, Any]) -> Decoded:
        if payload.get("boom"):
            raise ValueError("a value nobody foresaw")
        return InboundMessage("test", str(payload["chat"]), str(payload["chat"]), text=str(payload["text"]))

    def display_name(self, payload: dict[str, Any]) -> str | None:
        return None

    async def acknowledge(self, payload: dict[str, Any], text: str | None = None) -> None:
        return None

    async def send(self, chat_id: str, text: str, buttons: Sequence[Button], key: str | None = None) -> str:
        return "1"


async def cli(args: list[str]) -> int:
    """`okno ARGS` as from a shell: in a thread, since it runs its own event loop."""
    return await asyncio.to_thread(main, args)


async def test_an_update_that_fails_for_good_becomes_a_dead_letter_and_can_be_retried(
    repository: Repository,
    engine: ConversationEngine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    await repository.enqueue_updates(
        [
            NewUpdate("test:1", "test", "test:5", {"boom": True, "chat": 5}),
            NewUpdate("test:2", "test", "test:6", {"chat": 6, "text": "привет"}),
        ]
    )
    worker = UpdateWorker(repository, {"test": PickyChannel()}, engine, MemoryStore(), lambda: None)  # type: ignore[dict-item]
    await worker.handle_batch(await repository.pending_updates(CITIZENS_QUEUE, 0, 10))

    assert await repository.pending_updates(CITIZENS_QUEUE, 0, 10) == []  # neither holds the inbox
    assert [r.chat_id for r in await repository.pending_outbox(0, 10)] == ["6"]  # the other one answered
    [letter] = await repository.dead_letters.letters()
    assert (letter.kind, letter.key, letter.attempts) == ("update", "test:1", 3)
    assert "ValueError: a value nobody foresaw" in letter.reason

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OKNO_DATABASE_URL", database_url)
    capsys.readouterr()
    assert await cli(["dlq", "list"]) == 0
    assert "ValueError" in capsys.readouterr().out
    assert await cli(["dlq", "show", str(letter.id)]) == 0
    assert '"boom": true' in capsys.readouterr().out
    assert await cli(["dlq", "retry", str(letter.id)]) == 0
    back = await repository.pending_updates(CITIZENS_QUEUE, 0, 10)
    assert [u.key for u in back] == ["test:1"]  # back in the inbox
    assert await repository.dead_letters.letters() == []
    assert await cli(["dlq", "drop", str(letter.id)]) == 2  # gone already: said so


async def test_an_unknown_dead_letter_is_reported_with_what_to_do(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OKNO_DATABASE_URL", database_url)
    assert await cli(["dlq", "retry", "999"]) == 2
    assert "okno dlq list" in capsys.readouterr().err
    assert await cli(["dlq", "list"]) == 0
    assert "nothing was given up" in capsys.readouterr().out


async def test_done_is_set_with_the_letter(repository: Repository) -> None:
    await repository.enqueue_updates([NewUpdate("test:9", "test", "test:9", {"chat": 9})])
    [row] = await repository.pending_updates(CITIZENS_QUEUE, 0, 10)
    await repository.dead_letters.give_up_update(row, "a reason\x00 with a NUL", 3)
    async with repository._sessions() as session:
        done = await session.scalar(select(InboxUpdate.done).where(InboxUpdate.id == row.id))
    assert done is True
    [letter] = await repository.dead_letters.letters()
    assert letter.reason == "a reason with a NUL"


async def test_a_reply_and_a_job_given_up_come_back_on_retry(database_url: str) -> None:
    database = make_engine(database_url)
    try:
        sessions = make_sessions(database)
        tickets = TicketStore(sessions)
        repository = Repository(sessions)
        await tickets.send_to_citizen("telegram", "77", [CitizenMessage("ответ, который не ушёл")])
        [reply] = await repository.pending_outbox(0, 10)
        await repository.dead_letters.give_up_reply(reply, "Bad Request: chat not found", 1)
        assert await repository.pending_outbox(0, 10) == []
        async with sessions.begin() as session:
            session.add(HandoffJob(key="job:1", channel="telegram", chat_id="77", user_id="77", kind="open"))
        [job] = await tickets.pending_jobs(0, 10)
        await tickets.dead_letters.give_up_job(job, "PermanentFailure: not enough rights", 3)
        assert await tickets.pending_jobs(0, 10) == []

        letters = {letter.kind: letter for letter in await repository.dead_letters.letters()}
        assert letters["reply"].payload == {"text": "ответ, который не ушёл"}
        assert letters["job"].payload["kind"] == "open"
        for letter in letters.values():
            await repository.dead_letters.retry(letter.id)
        assert [r.id for r in await repository.pending_outbox(0, 10)] == [reply.id]
        assert [j.id for j in await tickets.pending_jobs(0, 10)] == [job.id]
    finally:
        await database.dispose()
