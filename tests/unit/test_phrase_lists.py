"""Phrase lists in the knowledge files name each phrase once: a repeat is a sign of careless edits."""

from __future__ import annotations

from typing import Any

import pytest

from dialog.knowledge import DEFAULT_KNOWLEDGE_DIR, read_yaml


def repeats(value: Any, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [r for key, item in value.items() for r in repeats(item, f"{path}/{key}")]
    if isinstance(value, list):
        if value and all(isinstance(item, str) for item in value):
            return [f"{path}: {item!r}" for n, item in enumerate(value) if item in value[:n]]
        return [r for n, item in enumerate(value) for r in repeats(item, f"{path}/{n}")]
    return []


@pytest.mark.parametrize("name", ["smalltalk.yaml", "escalation.yaml"])
def test_no_phrase_list_names_a_phrase_twice(name: str) -> None:
    assert repeats(read_yaml(DEFAULT_KNOWLEDGE_DIR / name)) == []
