"""Canned replies: every placeholder filled from the facts and the ticket; a bad file is refused."""

from pathlib import Path

import pytest

from dialog.knowledge import load_knowledge
from handoff.canned import load_canned
from handoff.config import HandoffConfig
from handoff.errors import HandoffError
from tests.builders import a_ticket


def test_shipped_replies_fill_every_placeholder() -> None:
    canned = load_canned(load_knowledge().facts)
    ticket = a_ticket(number="10427-3", assignee_name="Анна")
    for reply in canned.replies.values():
        text = canned.render(reply, ticket)
        assert "{" not in text, reply.id
    assert "Анна" in canned.render(canned.replies["greeting"], ticket)
    assert "8 800 555-35-35" in canned.render(canned.replies["hotline"], ticket)
    assert canned.buttons(7)[0].id == "tpl:7:greeting"


def test_an_unknown_placeholder_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "canned.yaml"
    broken.write_text("replies:\n  - {id: x, title: X, text: 'Звоните {no_such_fact}'}\n", encoding="utf-8")
    with pytest.raises(HandoffError, match=r"x: \{no_such_fact\}"):
        load_canned(load_knowledge().facts, broken)


def test_tickets_go_round_robin_and_specialists_to_their_group() -> None:
    config = HandoffConfig(desk_chats=("-1", "-2"), specialist_chat="-3")
    assert [config.desk_for(2, i) for i in range(4)] == ["-1", "-2", "-1", "-2"]
    assert config.desk_for(3, 0) == "-3"
    assert config.all_desks() == ("-1", "-2", "-3")
    assert HandoffConfig(desk_chats=("-1",)).desk_for(3, 5) == "-1"
