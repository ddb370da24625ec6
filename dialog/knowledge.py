"""The knowledge base: categories, facts, topics and their loading from YAML files."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dialog.errors import KnowledgeError

DEFAULT_KNOWLEDGE_DIR = Path(__file__).parent / "knowledge"
PLACEHOLDER_RE = re.compile(r"\{([a-z0-9_]+)\}")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True, slots=True)
class Quote:
    """Where a fact comes from: a document in the seeds and its exact words."""

    seed: str
    text: str


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    value: str | None  # None: a deployment fact nobody has set
    source: Quote | None
    deployment: bool
    alternatives: tuple[Quote, ...] = ()


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    category: str
    title: str
    answer: str  # with facts inserted
    template: str  # as written, with {placeholders}
    paraphrases: tuple[str, ...]
    keywords: tuple[str, ...]
    related: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    categories: tuple[Category, ...]
    topics: dict[str, Topic]
    facts: dict[str, str]  # the facts that have a value
    negatives: tuple[str, ...]  # out-of-scope examples
    revision: str  # content hash of every file the base was read from
    directory: Path
    fact_records: dict[str, Fact] = field(default_factory=dict)

    def category_topics(self, category_id: str) -> list[Topic]:
        return [t for t in self.topics.values() if t.category == category_id]

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)


# libyaml's loader when PyYAML was built with it (its wheels are): several times faster at startup
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError([f"{path}: cannot read: {exc}"]) from exc
    if not isinstance(data, dict):
        raise KnowledgeError([f"{path}: expected a mapping at the top level"])
    return data


def fill_placeholders(template: str, facts: dict[str, str], unset: frozenset[str] = frozenset()) -> str:
    """Insert facts; a sentence that needs an unset fact is left out.

    An unknown placeholder is left as written (kb check reports it).
    """
    lines = []
    for line in template.splitlines():
        text = line
        if any(name in unset for name in PLACEHOLDER_RE.findall(line)):
            kept = [s for s in SENTENCE_END.split(line) if not unset & set(PLACEHOLDER_RE.findall(s))]
            if not kept:
                continue
            text = " ".join(kept)
        lines.append(PLACEHOLDER_RE.sub(lambda m: facts.get(m.group(1), m.group(0)), text))
    return "\n".join(lines)


def knowledge_revision(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.yaml")):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def load_facts(path: Path, deployment: Mapping[str, str]) -> dict[str, Fact]:
    """The facts with their sources; `deployment` sets the facts the operator of the bot owns."""
    problems = []
    records: dict[str, Fact] = {}
    for name, entry in (read_yaml(path).get("facts") or {}).items():
        if not isinstance(entry, dict):
            problems.append(f"{path.name}: fact {name!r} needs `value` and `source` (or `deployment: true`)")
            continue
        is_deployment = bool(entry.get("deployment"))
        source = _quote(entry.get("source"))
        value = deployment.get(name) if is_deployment else entry.get("value")
        alternatives = tuple(q for q in map(_quote, entry.get("alternatives") or ()) if q is not None)
        records[str(name)] = Fact(
            str(name), None if value is None else str(value), source, is_deployment, alternatives
        )
    for name in deployment:
        fact = records.get(name)
        if fact is None or not fact.deployment:
            problems.append(f"OKNO_FACTS sets {name!r}, which is not a deployment fact of {path.name}")
    if problems:
        raise KnowledgeError(problems)
    return records


def _quote(value: Any) -> Quote | None:
    if not isinstance(value, dict) or "quote" not in value:
        return None
    return Quote(str(value.get("seed", "")), str(value["quote"]))


def load_knowledge(
    directory: Path = DEFAULT_KNOWLEDGE_DIR, deployment_facts: Mapping[str, str] | None = None
) -> KnowledgeBase:
    """Read the knowledge base; raise KnowledgeError listing every structural problem."""
    records = load_facts(directory / "facts.yaml", deployment_facts or {})
    facts = {name: fact.value for name, fact in records.items() if fact.value is not None}
    unset = frozenset(name for name, fact in records.items() if fact.value is None)

    def fill(template: str) -> str:
        return fill_placeholders(template, facts, unset)

    raw_categories = read_yaml(directory / "categories.yaml")["categories"]
    categories = tuple(Category(str(k), str(v)) for k, v in raw_categories.items())
    topics: dict[str, Topic] = {}
    problems: list[str] = []
    for path in sorted((directory / "topics").glob("*.yaml")):
        data = read_yaml(path)
        for entry in data.get("topics") or []:
            topic = _topic(entry, str(data.get("category", "")), fill, path, problems)
            if topic is None:
                continue
            if topic.id in topics:
                problems.append(f"{path.name}: duplicate topic id {topic.id!r}")
            topics[topic.id] = topic
    if problems:
        raise KnowledgeError(problems)
    negatives_path = directory / "out_of_scope.yaml"
    negatives = read_yaml(negatives_path).get("examples", []) if negatives_path.exists() else []
    return KnowledgeBase(
        categories=categories,
        topics=topics,
        facts=facts,
        negatives=tuple(str(n) for n in negatives),
        revision=knowledge_revision(directory),
        directory=directory,
        fact_records=records,
    )


def _topic(
    entry: Any, category: str, fill: Callable[[str], str], path: Path, problems: list[str]
) -> Topic | None:
    if not isinstance(entry, dict) or not entry.get("id") or not entry.get("answer"):
        problems.append(f"{path.name}: a topic without id or answer: {str(entry)[:60]!r}")
        return None
    template = str(entry["answer"]).strip()
    return Topic(
        id=str(entry["id"]),
        category=str(entry.get("category", category)),
        title=str(entry.get("title", "")),
        answer=fill(template),
        template=template,
        paraphrases=tuple(str(p) for p in entry.get("paraphrases") or ()),
        keywords=tuple(str(k) for k in entry.get("keywords") or ()),
        related=tuple(str(r) for r in entry.get("related") or ()),
    )
