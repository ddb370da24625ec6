"""Escalation rules: situations in which a message goes straight to a person."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialog.errors import KnowledgeError
from dialog.knowledge import read_yaml
from dialog.patterns import Trigger


@dataclass(frozen=True, slots=True)
class EscalationRule:
    id: str
    situation: str
    level: int  # 2 operator, 3 senior specialist
    priority: int
    reply: str
    trigger: Trigger


class EscalationRules:
    """All rules, highest priority first."""

    def __init__(self, rules: list[EscalationRule]) -> None:
        self.rules = sorted(rules, key=lambda r: -r.priority)
        self.by_id = {r.id: r for r in self.rules}

    def first_match(self, text: str) -> EscalationRule | None:
        return next((r for r in self.rules if r.trigger.fires(text)), None)


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
    return EscalationRule(
        id=str(entry["id"]),
        situation=str(entry.get("situation", "")),
        level=level,
        priority=int(entry.get("priority", 0)),
        reply=str(entry["reply"]).strip(),
        trigger=Trigger.from_entry(entry),
    )
