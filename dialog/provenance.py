"""Where every fact a citizen is told comes from: quotes found in the seed documents."""

from __future__ import annotations

import re
from pathlib import Path

from dialog.knowledge import PLACEHOLDER_RE, KnowledgeBase, Quote

_DASHES = re.compile(r"[‐‑‒–—−-]")
_NUMBERED_STEP = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)


def comparable(text: str) -> str:
    """Text as quotes are compared: lowercase, ё as е, one kind of dash, single spaces."""
    text = _DASHES.sub("-", text.lower().replace("ё", "е"))
    return " ".join(text.replace("\u00a0", " ").split())


def read_seeds(directory: Path) -> dict[str, str]:
    """Seed documents by their number («000» for 000_….txt), made comparable."""
    return {path.name[:3]: comparable(path.read_text(encoding="utf-8")) for path in directory.glob("*.txt")}


def check_facts(knowledge: KnowledgeBase, seeds: dict[str, str]) -> list[str]:
    """Every fact has a source found in the seeds, or is the deployment's own."""
    problems = []
    for fact in knowledge.fact_records.values():
        where = f"facts.yaml: {fact.name}"
        if fact.deployment:
            continue
        if fact.source is None:
            problems.append(f"{where}: no source; add `source: {{seed, quote}}` or `deployment: true`")
            continue
        problems += [f"{where}: {p}" for p in _check_quote(fact.source, seeds)]
        digits = re.sub(r"\D", "", fact.value or "")
        if digits and digits not in re.sub(r"\D", "", fact.source.text):
            problems.append(f"{where}: the value's digits {digits} are not in its quote")
        for alternative in fact.alternatives:
            problems += [f"{where} (alternative): {p}" for p in _check_quote(alternative, seeds)]
    return problems


def _check_quote(quote: Quote, seeds: dict[str, str]) -> list[str]:
    document = seeds.get(quote.seed)
    if document is None:
        return [f"seed {quote.seed!r} is not among the documents ({', '.join(sorted(seeds))})"]
    if comparable(quote.text) not in document:
        return [f"quote not found in seed {quote.seed}: {quote.text[:70]!r}"]
    return []


def unset_deployment_facts(knowledge: KnowledgeBase) -> list[str]:
    """Deployment facts nobody has set: answers leave out the sentences that need them."""
    return sorted(f.name for f in knowledge.fact_records.values() if f.deployment and f.value is None)


def numbers_outside_facts(knowledge: KnowledgeBase) -> list[str]:
    """A number written straight into an answer has no source: it belongs in facts.yaml."""
    problems = []
    for topic in knowledge.topics.values():
        text = _NUMBERED_STEP.sub(" ", PLACEHOLDER_RE.sub(" ", topic.template))
        found = re.findall(r"\d[\d\s.,:-]*", text)
        if found:
            problems.append(
                f"topic {topic.id}: number(s) {', '.join(repr(n.strip()) for n in found)} in the answer; "
                "move each into facts.yaml with its source"
            )
    return problems
