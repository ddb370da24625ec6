"""Filing a received Telegram update: the operators' groups' updates in the desk's queue, the rest
with the citizens, told from the raw JSON before anything else reads it."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.telegram.receiving import new_update
from bots.handoff_wiring import update_queues
from storage.records import CITIZENS_QUEUE, DESK_QUEUE

DESK, SPECIALISTS, CITIZEN, OTHER_GROUP = -1001500, -1001600, 701, -1009999
BOT = {"id": 123, "is_bot": True, "first_name": "Okno"}


def chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Иван"}
    return {"id": chat_id, "type": "supergroup", "title": "Операторы", "is_forum": True}


def message(chat_id: int, **extra: Any) -> dict[str, Any]:
    person = {"id": 9001, "is_bot": False, "first_name": "Анна"}
    return {"message_id": 5, "date": 1, "chat": chat(chat_id), "from": person, "text": "Добрый день"} | extra


def press(chat_id: int) -> dict[str, Any]:
    person = {"id": 9001, "is_bot": False, "first_name": "Анна"}
    card = message(chat_id, **{"from": BOT})
    return {
        "callback_query": {
            "id": "7",
            "from": person,
            "chat_instance": "c",
            "data": "b|take:1",
            "message": card,
        }
    }


def membership(chat_id: int, status: str) -> dict[str, Any]:
    change = {
        "chat": chat(chat_id),
        "from": {"id": 9009, "is_bot": False, "first_name": "Ирина"},
        "date": 1,
        "old_chat_member": {"status": "member", "user": BOT},
        "new_chat_member": {"status": status, "user": BOT, "until_date": 0},
    }
    return {"my_chat_member": change}


queue_of = update_queues([str(DESK), str(SPECIALISTS)])


@pytest.mark.parametrize(
    "update",
    [
        press(DESK),  # a button on a ticket's card
        {"message": message(DESK, message_thread_id=3, is_topic_message=True)},  # in a ticket's topic
        {"message": message(SPECIALISTS)},  # any group of the desk, the general topic too
        {"edited_message": message(DESK, message_thread_id=3, edit_date=2)},
        membership(DESK, "administrator"),  # the bot's rights in the group changed
    ],
)
def test_updates_from_the_operators_groups_go_to_the_desk(update: dict[str, Any]) -> None:
    assert queue_of({"update_id": 1} | update) == DESK_QUEUE


@pytest.mark.parametrize(
    "update",
    [
        {"message": message(CITIZEN)},
        press(CITIZEN),  # a menu button in a citizen's chat
        membership(CITIZEN, "kicked"),  # the citizen blocked the bot: the citizens' worker says so
        {"message": message(OTHER_GROUP)},  # a group that is no desk (allowed groups talk to the bot)
        {"callback_query": {"id": "8", "from": {"id": 5, "is_bot": False, "first_name": "И"}, "data": "x"}},
    ],
)
def test_everything_else_stays_with_the_citizens(update: dict[str, Any]) -> None:
    assert queue_of({"update_id": 1} | update) == CITIZENS_QUEUE


@pytest.mark.parametrize(
    "update",
    [
        {"message": "not an object"},
        {"message": {"chat": ["not", "an", "object"]}},
        {"message": {"chat": {"id": DESK, "type": ["supergroup"]}}},
        {"callback_query": None},
        {"callback_query": {"message": 5}},
        {"my_chat_member": {"chat": None}},
        {"edited_message": {"chat": {"type": "supergroup"}}},  # no id: no group of the desk
    ],
)
def test_a_malformed_update_is_filed_with_the_citizens_and_never_raises(update: dict[str, Any]) -> None:
    # a receiver that raised here would ask Telegram for the same batch for ever
    assert queue_of({"update_id": 1} | update) == CITIZENS_QUEUE


def test_without_an_operators_group_everything_is_the_citizens() -> None:
    assert update_queues(())({"update_id": 1} | press(DESK)) == CITIZENS_QUEUE


def test_the_stored_update_carries_its_queue() -> None:
    payload = {"update_id": 77} | press(DESK)
    stored = new_update(123, payload, queue_of(payload))
    assert (stored.key, stored.chat_key, stored.queue) == ("telegram:123:77", f"telegram:{DESK}", DESK_QUEUE)
    assert new_update(123, {"update_id": 78, "message": message(CITIZEN)}).queue == CITIZENS_QUEUE
