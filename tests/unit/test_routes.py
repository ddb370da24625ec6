"""OKNO_DESK_ROUTES: a knowledge-base category → the operators' groups with that expertise."""

from __future__ import annotations

import pytest

from bots.handoff_wiring import handoff_config
from bots.settings import Settings, SettingsError
from dialog.engine import ConversationEngine
from handoff.config import HandoffConfig

CONFIG = HandoffConfig(
    desk_chats=("-1", "-2"),
    specialist_chat="-9",
    routes={"account": ("-10",), "applications": ("-20", "-21")},
)


def test_a_ticket_goes_to_the_groups_of_its_category_else_to_the_default_ones() -> None:
    assert [CONFIG.desk_for(2, spread, "account") for spread in range(3)] == ["-10"] * 3
    assert [CONFIG.desk_for(2, spread, "applications") for spread in range(3)] == ["-20", "-21", "-20"]
    assert [CONFIG.desk_for(2, spread, "services") for spread in range(2)] == ["-1", "-2"]
    assert [CONFIG.desk_for(2, spread, None) for spread in range(2)] == ["-1", "-2"]
    assert CONFIG.desk_for(3, 0, "account") == "-9"  # senior specialists are an expertise of their own
    assert HandoffConfig(desk_chats=("-1",), routes={"account": ("-10",)}).desk_for(3, 0, "account") == "-10"


def test_every_routed_group_is_run_and_checked_once() -> None:
    assert CONFIG.all_desks() == ("-1", "-2", "-10", "-20", "-21", "-9")
    shared = HandoffConfig(desk_chats=("-1",), routes={"account": ("-1",), "tech": ("-3",)})
    assert shared.all_desks() == ("-1", "-3")


@pytest.mark.parametrize(
    "value",
    ['{"account": [-10], "applications": [-20, -21]}', "account=-10; applications=-20,-21"],
)
def test_routes_are_written_as_json_or_plainly(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKNO_DESK_ROUTES", value)
    monkeypatch.setenv("OKNO_DESK_CHAT_IDS", "-1")
    settings = Settings(_env_file=None)
    assert settings.desk_routes == {"account": [-10], "applications": [-20, -21]}


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"desk_routes": {"account": [-10]}}, "needs OKNO_DESK_CHAT_IDS"),
        ({"desk_routes": {"account": []}, "desk_chat_ids": [-1]}, "at least one group"),
    ],
)
def test_routes_without_a_default_group_or_with_an_empty_one_are_refused(
    values: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Settings(_env_file=None, **values)


def test_a_category_the_knowledge_base_lacks_stops_okno_with_the_known_ones(
    engine: ConversationEngine,
) -> None:
    settings = Settings(_env_file=None, desk_chat_ids=[-1], desk_routes={"acount": [-10]})
    categories = [c.id for c in engine.knowledge.categories]
    with pytest.raises(
        SettingsError, match="OKNO_DESK_ROUTES: unknown category acount; the knowledge base has"
    ):
        handoff_config(settings, {}, categories)
    good = Settings(_env_file=None, desk_chat_ids=[-1], desk_routes={"account": [-10]})
    assert handoff_config(good, {}, categories).routes == {"account": ("-10",)}
