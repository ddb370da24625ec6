"""The evaluation sets measure understanding, not memory: no line is (nearly) a knowledge-base text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rapidfuzz import fuzz, process

from dialog.classifier import load_examples
from dialog.knowledge import load_knowledge
from tests.conftest import BLIND_SETS, DEV_SET, TUNING_SETS

NEAR = 90  # rapidfuzz ratio: within about one edit in ten characters
SETS = [p for p in (DEV_SET, *BLIND_SETS, *TUNING_SETS) if p.exists()]


def comparable(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower().replace("ё", "е")).split())


def knowledge_texts() -> list[str]:
    knowledge = load_knowledge()
    texts = [p for t in knowledge.topics.values() for p in t.paraphrases]
    texts += knowledge.negatives
    texts += [
        t for examples in load_examples(knowledge.directory / "examples.yaml").values() for t in examples
    ]
    return sorted({comparable(t) for t in texts if comparable(t)})


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.stem)
def test_no_eval_line_is_within_a_small_edit_distance_of_the_knowledge_base(path: Path) -> None:
    lines = [
        comparable(json.loads(line)["text"]) for line in path.read_text(encoding="utf-8").splitlines() if line
    ]
    known = knowledge_texts()
    scores = process.cdist(lines, known, scorer=fuzz.ratio, score_cutoff=NEAR, workers=1)
    close = [(lines[i], known[j]) for i, j in zip(*scores.nonzero(), strict=True)]
    assert close == [], f"{len(close)} eval line(s) nearly copy the knowledge base: {close[:10]}"


def test_the_check_finds_a_copied_line() -> None:
    known = knowledge_texts()
    copied = known[len(known) // 2]
    lines = [copied + " ?", "совсем другой вопрос про погоду на марсе"]
    scores = process.cdist(
        [comparable(t) for t in lines], known, scorer=fuzz.ratio, score_cutoff=NEAR, workers=1
    )
    assert scores[0].any() and not scores[1].any()


def test_the_blind_sets_are_there_and_have_the_agreed_mix() -> None:
    assert len(BLIND_SETS) >= 2
    for path in BLIND_SETS:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        labels = [r["expect"] for r in rows]
        assert len(rows) >= 300
        assert (
            labels.count("handoff") >= 40 and labels.count("none") >= 40 and labels.count("smalltalk") >= 16
        )
