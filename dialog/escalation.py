"""Escalation rules: situations in which a message goes straight to a person."""

from __future__ import annotations

from collections.abc import Sequence
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
    # a looser pattern that hands off only when the message also reads like this rule's examples,
    # or the ranker places it in one of the FAQ topics next to this situation
    near: Trigger | None = None
    near_topics: tuple[str, ...] = ()
    # also looked for sentence by sentence in a long message, where another sentence's words
    # would block it (a request for a person at the end of a story)
    sentence_wise: bool = False


@dataclass(frozen=True, slots=True)
class ConversationRule:
    """A rule about the conversation rather than one message: «two fallbacks in a row», a topic."""

    id: str
    situation: str
    level: int
    priority: int
    reply: str
    fallbacks: int = 0  # fires at this many fallbacks in a row (0: not this kind)
    not_helped: int = 0  # fires at this many «Нет» to «Помог ли ответ?» in a row
    topic: str | None = None  # fires when the bot answers this topic
    resolved_ticket: bool = False  # fires when, after «Решено», the citizen says the problem remains


class EscalationRules:
    """All rules, highest priority first."""

    def __init__(self, rules: list[EscalationRule], conversation: Sequence[ConversationRule] = ()) -> None:
        self.rules = sorted(rules, key=lambda r: -r.priority)
        self.conversation = sorted(conversation, key=lambda r: -r.priority)
        self.by_id: dict[str, EscalationRule | ConversationRule] = {r.id: r for r in self.rules}
        self.by_id |= {r.id: r for r in self.conversation}

    def first_match(self, text: str) -> EscalationRule | None:
        return next((r for r in self.rules if r.trigger.fires(text)), None)

    def in_a_sentence(self, sentences: Sequence[str]) -> EscalationRule | None:
        """The first sentence-wise rule that one of the sentences fires on its own, unless a later
        sentence turns it into a question about a channel («… мне нужен сотрудник. Как в чате
        перейти к человеку?»)."""
        for rule in (r for r in self.rules if r.sentence_wise):
            for index, sentence in enumerate(sentences):
                later = sentences[index + 1 :]
                if rule.trigger.fires_alone(sentence) and not any(rule.trigger.blocked(s) for s in later):
                    return rule
        return None

    def near_topic(self, topic: str, text: str) -> EscalationRule | None:
        """The situation next to this FAQ topic whose looser pattern the message matches."""
        return next(
            (r for r in self.rules if topic in r.near_topics and r.near is not None and r.near.fires(text)),
            None,
        )

    def after(
        self,
        fallbacks: int = 0,
        not_helped: int = 0,
        topic: str | None = None,
        resolved_ticket: bool = False,
    ) -> ConversationRule | None:
        """The conversation rule a new count, an answered topic or a reopened problem fires, if any."""
        for rule in self.conversation:
            if (
                (rule.fallbacks and fallbacks >= rule.fallbacks)
                or (rule.not_helped and not_helped >= rule.not_helped)
                or (rule.topic is not None and rule.topic == topic)
                or (rule.resolved_ticket and resolved_ticket)
            ):
                return rule
        return None


def load_rules(path: Path) -> EscalationRules:
    data = read_yaml(path)
    problems: list[str] = []
    rules = []
    for entry in data.get("rules") or []:
        try:
            rules.append(_rule(entry))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: rule {entry.get('id', '?')!r}: {exc}")
    conversation = []
    for entry in data.get("conversation_rules") or []:
        try:
            conversation.append(_conversation_rule(entry))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{path.name}: conversation rule {entry.get('id', '?')!r}: {exc}")
    ids = [r.id for r in rules] + [r.id for r in conversation]
    problems += [
        f"{path.name}: rule id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    if problems:
        raise KnowledgeError(problems)
    return EscalationRules(rules, conversation)


def _level(entry: dict[str, Any]) -> int:
    level = int(entry["level"])
    if level not in (2, 3):
        raise ValueError(f"level must be 2 (operator) or 3 (specialist), not {level}")
    return level


def _conversation_rule(entry: dict[str, Any]) -> ConversationRule:
    after = entry["after"]
    if (
        not isinstance(after, dict)
        or len(after) != 1
        or not set(after) <= {"fallbacks", "not_helped", "topic", "resolved_ticket"}
    ):
        raise ValueError(
            "`after` must be exactly one of {fallbacks: N}, {not_helped: N}, {topic: ID}, "
            "{resolved_ticket: true}"
        )
    counts = {key: int(after[key]) for key in ("fallbacks", "not_helped") if key in after}
    if any(value < 1 for value in counts.values()):
        raise ValueError("a count in `after` must be at least 1")
    return ConversationRule(
        id=str(entry["id"]),
        situation=str(entry.get("situation", "")),
        level=_level(entry),
        priority=int(entry.get("priority", 0)),
        reply=str(entry["reply"]).strip(),
        topic=str(after["topic"]) if "topic" in after else None,
        resolved_ticket=after.get("resolved_ticket") is True,
        **counts,
    )


def _rule(entry: dict[str, Any]) -> EscalationRule:
    level = _level(entry)
    return EscalationRule(
        id=str(entry["id"]),
        situation=str(entry.get("situation", "")),
        level=level,
        priority=int(entry.get("priority", 0)),
        reply=str(entry["reply"]).strip(),
        trigger=Trigger.from_entry(entry),
        near=Trigger.from_entry({"when": entry["near"], "unless": entry.get("unless")})
        if entry.get("near")
        else None,
        near_topics=tuple(str(t) for t in entry.get("near_topics") or ()),
        sentence_wise=bool(entry.get("sentence_wise", False)),
    )
