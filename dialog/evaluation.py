"""Scoring the classifier against a labelled file of citizen messages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dialog.messages import Action, Decision

SPECIAL = {"handoff", "none", "smalltalk"}


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    expect: str
    also: tuple[str, ...] = ()
    style: str = ""

    @property
    def accepted(self) -> set[str]:
        return {self.expect, *self.also}


@dataclass(slots=True)
class Report:
    total: int = 0
    topic_rows: int = 0
    topic_points: float = 0.0
    handoff_rows: int = 0
    handoff_hits: int = 0
    handoff_predicted: int = 0
    none_rows: int = 0
    none_refused: int = 0
    smalltalk_rows: int = 0
    smalltalk_hits: int = 0
    confidently_wrong: int = 0
    misses: list[tuple[Example, Decision]] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        def share(a: float, b: int) -> float:
            return a / b if b else 1.0

        return {
            "topic_top1": share(self.topic_points, self.topic_rows),
            "handoff_recall": share(self.handoff_hits, self.handoff_rows),
            "handoff_precision": share(self.handoff_hits, self.handoff_predicted),
            "out_of_scope_refused": share(self.none_refused, self.none_rows),
            "smalltalk": share(self.smalltalk_hits, self.smalltalk_rows),
            "confidently_wrong": share(self.confidently_wrong, self.total),
        }


def parse_examples(lines: Iterable[str]) -> list[Example]:
    examples = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            examples.append(
                Example(
                    str(row["text"]),
                    str(row["expect"]),
                    tuple(row.get("also") or ()),
                    str(row.get("style", "")),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {number}: not a labelled example ({exc})") from exc
    return examples


def topic_points(example: Example, decision: Decision) -> float:
    if decision.action is Action.ANSWER and decision.topic in example.accepted:
        return 1.0
    if decision.action is Action.CLARIFY and decision.candidates[:1]:
        return 0.5 if decision.candidates[0] in example.accepted else 0.0
    return 0.0


def evaluate(examples: Iterable[Example], classify: Callable[[str], Decision]) -> Report:
    report = Report()
    for example in examples:
        decision = classify(example.text)
        report.total += 1
        ok = _score(report, example, decision)
        if not ok:
            report.misses.append((example, decision))
    return report


def _score(report: Report, example: Example, decision: Decision) -> bool:
    action = decision.action
    report.handoff_predicted += action is Action.HANDOFF
    if example.expect == "handoff":
        report.handoff_rows += 1
        report.handoff_hits += action is Action.HANDOFF
        report.confidently_wrong += action is Action.ANSWER
        return action is Action.HANDOFF
    if example.expect == "none":
        report.none_rows += 1
        report.none_refused += action is Action.FALLBACK
        report.confidently_wrong += action is Action.ANSWER
        return action is Action.FALLBACK
    if example.expect == "smalltalk":
        report.smalltalk_rows += 1
        report.smalltalk_hits += action is Action.SMALLTALK
        return action is Action.SMALLTALK
    report.topic_rows += 1
    points = topic_points(example, decision)
    report.topic_points += points
    wrong_answer = action is Action.ANSWER and decision.topic not in example.accepted
    report.confidently_wrong += wrong_answer
    return points == 1.0
