"""Support levels read as the contact center's documents name them, in every place they appear."""

from __future__ import annotations

from dialog.tickets import Level
from handoff.stats import level_label


def test_each_level_has_its_number_and_its_name() -> None:
    assert [level.label for level in Level] == ["1 — бот", "2 — оператор", "3 — старший специалист"]
    assert level_label(3) == "3 — старший специалист"  # the statistics say the same
    assert level_label(7) == "уровень 7"  # a level from a newer version is still shown
