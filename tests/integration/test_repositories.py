from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from storage.db import make_engine, make_sessions
from storage.models import Contact, Message, OutboxMessage
from storage.records import CITIZENS_QUEUE, Delivery, MessageRecord, NewUpdate, TurnRecord
from storage.repositories import Repository


@pytest.fixture
async def repository(database_url: str) -> AsyncIterator[Repository]:
    engine = make_engine(database_url)
    yield Repository(make_sessions(engine))
    await engine.dispose()


def turn(key: str, update_id: int | None, text: str = "привет", replies: int = 2) -> TurnRecord:
    return TurnRecord(
        update_id=update_id,
        update_key=key,
        channel="telegram",
        chat_id="42",
        user_id="42",
        display_name="Иван",
        inbound=MessageRecord(text=text),
        outbound=[
            MessageRecord(text=f"ответ {i}", outcome="answer", topic="sms_code", kb_revision="abc")
            for i in range(replies)
        ],
        engine_state={"turns": 1},
    )


async def count(repository: Repository, model: type) -> int:
    async with repository._sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_updates_are_stored_once(repository: Repository) -> None:
    updates = [NewUpdate(f"tg:{i}", "telegram", "telegram:42", {"update_id": i}) for i in range(3)]
    assert await repository.enqueue_updates(updates) == 3
    again = [*updates[1:], NewUpdate("tg:9", "telegram", "telegram:1", {})]
    assert await repository.enqueue_updates(again) == 1
    pending = await repository.pending_updates(CITIZENS_QUEUE, after_id=0, limit=10)
    assert [u.key for u in pending] == ["tg:0", "tg:1", "tg:2", "tg:9"]
    assert pending[0].payload == {"update_id": 0}


async def test_a_turn_is_recorded_exactly_once(repository: Repository) -> None:
    await repository.enqueue_updates([NewUpdate("tg:1", "telegram", "telegram:42", {})])
    (update,) = await repository.pending_updates(CITIZENS_QUEUE, 0, 10)
    assert await repository.record_turns([turn("tg:1", update.id)]) == {"tg:1"}
    assert await repository.record_turns([turn("tg:1", update.id)]) == set()  # a redelivery
    assert await count(repository, Message) == 3
    assert await count(repository, OutboxMessage) == 2
    assert await repository.pending_updates(CITIZENS_QUEUE, 0, 10) == []
    assert await repository.conversation_states([("telegram", "42")]) == {("telegram", "42"): {"turns": 1}}


async def test_outbox_keeps_order_and_marks_delivery(repository: Repository) -> None:
    await repository.record_turns([turn("k1", None, replies=2)])
    await repository.record_turns([turn("k2", None, replies=1)])
    pending = await repository.pending_outbox(0, 10)
    assert [p.text for p in pending] == ["ответ 0", "ответ 1", "ответ 0"]
    await repository.mark_sent_many([Delivery(pending[0].id, pending[0].message_id, "777")])
    await repository.dead_letters.give_up_reply(pending[1], "Bad Request: message is too long", 1)
    assert [p.id for p in await repository.pending_outbox(0, 10)] == [pending[2].id]


async def test_blocked_contact_is_marked_and_unblocked_when_writing_again(repository: Repository) -> None:
    await repository.record_turns([turn("k1", None)])
    await repository.mark_blocked("telegram", "42")
    assert await repository.is_blocked("telegram", "42")
    assert await repository.pending_outbox(0, 10) == []
    await repository.record_turns([turn("k2", None)])
    assert not await repository.is_blocked("telegram", "42")
    assert await count(repository, Contact) == 1


async def test_a_batch_of_turns_is_written_together_and_duplicates_skipped(repository: Repository) -> None:
    await repository.record_turns([turn("k0", None, replies=1)])
    batch = [turn("k0", None), turn("k1", None, text="раз"), turn("k2", None, text="два"), turn("k1", None)]
    assert await repository.record_turns(batch) == {"k1", "k2"}
    assert await count(repository, Message) == 2 + 3 + 3
    assert [p.text for p in await repository.pending_outbox(0, 10)] == [
        "ответ 0",
        *["ответ 0", "ответ 1"] * 2,
    ]
