"""Escalation rules: situations in which a message goes straight to a person."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialog.errors import KnowledgeError
from dialog.knowledge import read_yaml
from dialog.patterns import Pattern


@dataclass(frozen=True, slots=True)
class EscalationRule:
    id: str
    situation: str
    level: int  # 2 operator, 3 senior specialist
    priority: int
    reply: str
    when: tuple[Pattern, ...]
    unless: tuple[Pattern, ...]
    max_words: int | None  # the rule fires only on messages this short

    def fires(self, text: str, word_count: int) -> bool:
        if self.max_words is not None and word_count > self.max_words:
            return False
        if not any(p.matches(text) for p in self.when):
            return False
        return not any(p.matches(text) for p in self.unless)


class EscalationRules:
    """All rules, highest priority first."""

    def __init__(self, rules: list[EscalationRule]) -> None:
        self.rules = sorted(rules, key=lambda r: -r.priority)
        self.by_id = {r.id: r for r in self.rules}

    def first_match(self, text: str, word_count: int) -> EscalationRule | None:
        return next((r for r in self.rules if r.fires(text, word_count)), None)


def load_rules(path: Path) -> EscalationRules:
    data = read_yaml(path)
    problems: list[str] = []
    rules = []
    for entry in data.get("rules") or []:
        try:
            rules.append(_rule(entry))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: rule {entry.get('id', '?')!r}: {exc}")
    if problems:
        raise KnowledgeError(problems)
    return EscalationRules(rules)


def _rule(entry: dict[str, Any]) -> EscalationRule:
    level = int(entry["level"])
    if level not in (2, 3):
        raise ValueError(f"level must be 2 (operator) or 3 (specialist), not {level}")
    when = tuple(Pattern.from_groups(groups) for groups in entry["when"])
    if not when:
        raise ValueError("`when` lists no pattern")
    return EscalationRule(
        id=str(entry["id"]),
        situation=str(entry.get("situation", "")),
        level=level,
        priority=int(entry.get("priority", 0)),
        reply=str(entry["reply"]).strip(),
        when=when,
        unless=tuple(Pattern.from_groups(g) for g in entry.get("unless") or ()),
        max_words=int(entry["max_words"]) if entry.get("max_words") else None,
    )
