"""Out-of-scope rules: questions the contact center does not answer, whatever words they share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dialog.errors import KnowledgeError
from dialog.knowledge import read_yaml
from dialog.patterns import Trigger


@dataclass(frozen=True, slots=True)
class ScopeRule:
    id: str
    trigger: Trigger


def load_scope_rules(path: Path) -> list[ScopeRule]:
    if not path.exists():
        return []
    rules = []
    for entry in read_yaml(path).get("rules") or []:
        try:
            rules.append(ScopeRule(str(entry["id"]), Trigger.from_entry(entry)))
        except (KeyError, TypeError, ValueError) as exc:
            raise KnowledgeError([f"{path.name}: rule {entry!r:.60}: {exc}"]) from exc
    return rules
