"""`okno kb check`: every problem of a knowledge base, as a list of readable lines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dialog.classifier import DEFAULT_CALIBRATION, Classifier, load_calibration
from dialog.errors import KnowledgeError
from dialog.escalation import load_rules
from dialog.knowledge import PLACEHOLDER_RE, KnowledgeBase, load_knowledge, read_yaml
from dialog.normalize import clean
from dialog.smalltalk import load_smalltalk

MAX_ANSWER_CHARS = 4096
MIN_PARAPHRASES = 5


def check_knowledge(
    directory: Path, contract: dict[str, Any] | None, deployment_facts: Mapping[str, str] | None = None
) -> list[str]:
    try:
        knowledge = load_knowledge(directory, deployment_facts)
    except KnowledgeError as exc:
        return exc.problems
    problems = _check_topics(knowledge)
    if contract is not None:
        problems += _check_contract(knowledge, contract)
    for name, loader in (("escalation.yaml", load_rules), ("smalltalk.yaml", load_smalltalk)):
        try:
            loader(directory / name)
        except KnowledgeError as exc:
            problems += exc.problems
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
    problems += _check_conversation_rules(directory, knowledge)
    calibration = directory / "calibration.yaml"
    if calibration.exists() and load_calibration(calibration) is DEFAULT_CALIBRATION:
        problems.append("calibration.yaml was fitted for other features: run `okno kb calibrate`")
    synonyms = read_yaml(directory / "synonyms.yaml").get("synonyms")
    if not isinstance(synonyms, dict):
        problems.append("synonyms.yaml: expected a mapping `synonyms: {concept: [variants]}`")
    return problems


def _check_conversation_rules(directory: Path, knowledge: KnowledgeBase) -> list[str]:
    try:
        rules = load_rules(directory / "escalation.yaml")
    except (KnowledgeError, KeyError, TypeError, ValueError):
        return []  # reported above
    return [
        f"escalation.yaml: conversation rule {rule.id!r}: unknown topic {rule.topic!r}"
        for rule in rules.conversation
        if rule.topic is not None and rule.topic not in knowledge.topics
    ]


def _check_topics(knowledge: KnowledgeBase) -> list[str]:
    problems = []
    categories = {c.id for c in knowledge.categories}
    seen: dict[str, str] = {}
    for topic in knowledge.topics.values():
        where = f"topic {topic.id}"
        if topic.category not in categories:
            problems.append(f"{where}: unknown category {topic.category!r}")
        for name in PLACEHOLDER_RE.findall(topic.template):
            if name not in knowledge.fact_records:
                problems.append(f"{where}: placeholder {{{name}}} is not in facts.yaml")
        if len(topic.answer) > MAX_ANSWER_CHARS:
            problems.append(f"{where}: answer is {len(topic.answer)} characters, over {MAX_ANSWER_CHARS}")
        if len(topic.paraphrases) < MIN_PARAPHRASES:
            problems.append(f"{where}: only {len(topic.paraphrases)} paraphrases, need {MIN_PARAPHRASES}")
        if not topic.keywords:
            problems.append(f"{where}: no keywords")
        for related in topic.related:
            if related not in knowledge.topics:
                problems.append(f"{where}: related topic {related!r} does not exist")
        for paraphrase in topic.paraphrases:
            key = " ".join(clean(paraphrase).split())
            if key in seen:
                problems.append(f"{where}: paraphrase {paraphrase!r} repeats one of {seen[key]}")
            seen[key] = topic.id
    return problems


def _check_contract(knowledge: KnowledgeBase, contract: dict[str, Any]) -> list[str]:
    problems = []
    categories = {c.id: c.title for c in knowledge.categories}
    for category_id, title in (contract.get("categories") or {}).items():
        if categories.get(category_id) != title:
            problems.append(f"category {category_id!r} ({title}) missing or retitled")
    for topic_id, spec in (contract.get("topics") or {}).items():
        topic = knowledge.topics.get(topic_id)
        if topic is None:
            problems.append(f"contract topic {topic_id!r} is missing")
            continue
        if topic.category != spec.get("category"):
            problems.append(
                f"topic {topic_id}: category {topic.category!r}, contract says {spec.get('category')!r}"
            )
        if topic.title != spec.get("title"):
            problems.append(f"topic {topic_id}: title {topic.title!r}, contract says {spec.get('title')!r}")
    return problems


def load_contract(path: Path) -> dict[str, Any]:
    return read_yaml(path)


def check_collisions(classifier: Classifier) -> list[str]:
    """Paraphrases that a rule (escalation, small talk, out of scope) takes away from their topic."""
    problems = []
    for topic in classifier.knowledge.topics.values():
        for paraphrase in topic.paraphrases:
            decision = classifier.by_rules(paraphrase, classifier.analyzer.analyze(paraphrase))
            if decision is not None:
                taken_by = decision.rule or decision.intent or decision.action.value
                problems.append(
                    f"topic {topic.id}: paraphrase {paraphrase!r} is taken by rule {taken_by} "
                    f"({decision.action.value})"
                )
    return problems
