"""Who may act on a ticket: operators and specialists by id or by membership of their group."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from handoff.actions import OperatorActions
from handoff.canned import CannedReplies
from handoff.config import HandoffConfig
from handoff.tracking import Tracker
from tests.fakes.desk import MemoryDesk, as_desk

OPERATORS, SPECIALISTS = "-1", "-3"


def desk_for(config: HandoffConfig, members: set[str]) -> OperatorActions:
    store: Any = None  # rights are decided without the database
    tracker = Tracker(store, config, lambda: None)
    memory = MemoryDesk(members)
    return OperatorActions(
        store, as_desk(memory), config, tracker, CannedReplies([], {}), lambda: datetime.now(UTC)
    )


@pytest.mark.parametrize(
    ("config", "members", "user", "level", "allowed"),
    [
        (HandoffConfig(desk_chats=(OPERATORS,)), {"7"}, "7", 2, True),  # any member of the group
        (HandoffConfig(desk_chats=(OPERATORS,)), {"7"}, "8", 2, False),
        (HandoffConfig(desk_chats=(OPERATORS,), operators=frozenset({"7"})), {"8"}, "8", 2, False),
        (HandoffConfig(desk_chats=(OPERATORS,), operators=frozenset({"7"})), set(), "7", 2, True),
        # level 3: listed specialists, else members of the specialists' group
        (HandoffConfig(operators=frozenset({"7"}), specialists=frozenset({"9"})), set(), "7", 3, False),
        (HandoffConfig(operators=frozenset({"7"}), specialists=frozenset({"9"})), set(), "9", 3, True),
        (HandoffConfig(operators=frozenset({"7"}), specialist_chat=SPECIALISTS), {"9"}, "9", 3, True),
        (HandoffConfig(operators=frozenset({"7"}), specialist_chat=SPECIALISTS), {"9"}, "7", 3, False),
        # supervisors may always act
        (HandoffConfig(operators=frozenset({"7"}), supervisors=frozenset({"5"})), set(), "5", 3, True),
    ],
)
async def test_rights(config: HandoffConfig, members: set[str], user: str, level: int, allowed: bool) -> None:
    assert await desk_for(config, members).allowed(user, OPERATORS, level) is allowed
