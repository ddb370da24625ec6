"""The knowledge-base tools behind `okno classify`, `okno kb …` and `okno eval`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

import yaml

from dialog.calibration import Sample, calibrate, cross_validate, labelled_samples
from dialog.classifier import Classifier, build_classifier, topic_documents
from dialog.evaluation import Example, Report, evaluate, parse_examples
from dialog.knowledge import load_knowledge
from dialog.messages import Decision
from dialog.provenance import check_facts, numbers_outside_facts, read_seeds, unset_deployment_facts
from dialog.retrieval import NEGATIVE
from dialog.validation import check_collisions, check_knowledge, load_contract

GATES = {
    "topic_top1": "min_topic",
    "handoff_recall": "min_handoff_recall",
    "handoff_precision": "min_handoff_precision",
    "out_of_scope_refused": "min_out_of_scope",
    "smalltalk": "min_smalltalk",
}


def decision_json(text: str, decision: Decision) -> dict[str, object]:
    return {
        "text": text,
        "action": decision.action.value,
        "topic": decision.topic,
        "candidates": list(decision.candidates),
        "confidence": round(decision.confidence, 4),
        "rule": decision.rule,
    }


def classify_lines(classifier: Classifier, lines: Iterable[str], out: TextIO) -> int:
    """One JSON line out per JSON line in; a malformed line gets an error line."""
    failures = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row.get("text") if isinstance(row, dict) else None
            if not isinstance(text, str):
                raise ValueError('expected an object with a string "text"')
        except ValueError as exc:
            failures += 1
            out.write(json.dumps({"line": number, "error": str(exc)}, ensure_ascii=False) + "\n")
            continue
        out.write(json.dumps(decision_json(text, classifier.classify(text)), ensure_ascii=False) + "\n")
    return 1 if failures else 0


def kb_check(
    directory: Path, contract_file: Path, out: TextIO, deployment_facts: Mapping[str, str] | None = None
) -> int:
    """Structure, the contract, every fact's source in the seeds beside the contract, collisions."""
    contract = load_contract(contract_file) if contract_file.exists() else None
    seeds_dir = contract_file.parent / "seeds"
    problems = check_knowledge(directory, contract, deployment_facts)
    knowledge = None if problems else load_knowledge(directory, deployment_facts)
    if knowledge is not None:
        if seeds_dir.is_dir():
            problems += check_facts(knowledge, read_seeds(seeds_dir))
        problems += numbers_outside_facts(knowledge)
    if not problems and knowledge is not None:
        problems = check_collisions(build_classifier(knowledge))
    if contract is None:
        out.write(f"note: contract {contract_file} not found; checked the structure only\n")
    if not seeds_dir.is_dir():
        out.write(f"note: seed documents {seeds_dir} not found; the facts' sources were not checked\n")
    if knowledge is not None and (unset := unset_deployment_facts(knowledge)):
        out.write(
            "deployment facts not set (answers leave out the sentences that need them; "
            f"set them in OKNO_FACTS): {', '.join(unset)}\n"
        )
    if problems:
        out.write(f"The knowledge base has {len(problems)} problem(s):\n")
        out.writelines(f"  - {p}\n" for p in problems)
        return 1
    checked = len(knowledge.fact_records) if knowledge is not None else 0
    out.write(f"Knowledge base OK: {directory} ({checked} facts, every source found in the seeds)\n")
    return 0


def realistic_samples(classifier: Classifier, examples: list[Example]) -> list[Sample]:
    """Labelled citizens' messages as confidence-model samples; those a rule decides are left out."""
    labelled = []
    for example in examples:
        analysis = classifier.analyzer.analyze(example.text)
        if example.expect in ("handoff", "smalltalk") or classifier.by_rules(example.text, analysis):
            continue
        content = classifier.content(analysis)
        label = NEGATIVE if example.expect == "none" else example.expect
        labelled.append((content.terms, content.words, label))
    return labelled_samples(classifier.index, labelled, classifier.semantic)


def kb_calibrate(classifier: Classifier, folds: int, example_files: list[Path], out: TextIO) -> int:
    documents = topic_documents(classifier.knowledge, classifier.analyzer)

    def progress(done: int, total: int) -> None:
        sys.stderr.write(f"\rcross-validation: fold {done}/{total}")
        sys.stderr.flush()

    samples = cross_validate(documents, folds=folds, progress=progress, semantic=classifier.semantic)
    lines = [line for path in example_files for line in path.read_text(encoding="utf-8").splitlines()]
    realistic = realistic_samples(classifier, parse_examples(lines))
    sys.stderr.write("\nfitting the confidence model…\n")
    model = calibrate(samples, realistic)
    path = classifier.knowledge.directory / "calibration.yaml"
    data = {
        "weights": list(model.weights),
        "bias": model.bias,
        "answer_at": model.answer_at,
        "clarify_at": model.clarify_at,
    }
    header = "# Written by `okno kb calibrate` from cross-validation; do not edit by hand.\n"
    path.write_text(header + yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    topics = [s for s in samples if s.topic != NEGATIVE]
    accuracy = sum(s.predicted == s.topic for s in topics) / max(len(topics), 1)
    out.write(
        f"{len(samples)} held-out paraphrases (best topic right for {accuracy:.1%} of them), "
        f"{len(realistic)} labelled messages\n"
        f"answer at confidence >= {model.answer_at}, clarify at >= {model.clarify_at}; wrote {path}\n"
    )
    return 0


def format_report(report: Report, show_misses: bool) -> str:
    m = report.metrics()
    rows = [
        ("messages", f"{report.total}"),
        ("topic top-1", f"{m['topic_top1']:.1%}  ({report.topic_points:g}/{report.topic_rows})"),
        ("handoff recall", f"{m['handoff_recall']:.1%}  ({report.handoff_hits}/{report.handoff_rows})"),
        (
            "handoff precision",
            f"{m['handoff_precision']:.1%}  ({report.handoff_hits}/{report.handoff_predicted})",
        ),
        (
            "out-of-scope refused",
            f"{m['out_of_scope_refused']:.1%}  ({report.none_refused}/{report.none_rows})",
        ),
        ("smalltalk", f"{m['smalltalk']:.1%}  ({report.smalltalk_hits}/{report.smalltalk_rows})"),
        ("confidently wrong", f"{m['confidently_wrong']:.1%}  ({report.confidently_wrong}/{report.total})"),
    ]
    lines = [f"{name:<22}{value}" for name, value in rows]
    if show_misses:
        lines.append("")
        for example, decision in report.misses:
            got = decision.topic or decision.rule or decision.intent or ",".join(decision.candidates)
            lines.append(f"  {example.expect} → {decision.action.value} {got}: {example.text[:80]}")
    return "\n".join(lines) + "\n"


def run_eval(
    classifier: Classifier, path: Path, gates: dict[str, float | None], show_misses: bool, out: TextIO
) -> int:
    try:
        examples = parse_examples(path.read_text(encoding="utf-8").splitlines())
    except (OSError, ValueError) as exc:
        out.write(f"cannot read {path}: {exc}\n")
        return 2
    report = evaluate(examples, classifier.classify)
    out.write(format_report(report, show_misses))
    metrics = report.metrics()
    failed = [
        f"{name} {metrics[name]:.1%} < {limit:.1%}"
        for name, flag in GATES.items()
        if (limit := gates.get(flag)) is not None and metrics[name] < limit
    ]
    max_wrong = gates.get("max_confidently_wrong")
    if max_wrong is not None and metrics["confidently_wrong"] > max_wrong:
        failed.append(f"confidently_wrong {metrics['confidently_wrong']:.1%} > {max_wrong:.1%}")
    if failed:
        out.write("GATE FAILED: " + "; ".join(failed) + "\n")
        return 1
    return 0
