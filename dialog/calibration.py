"""Fitting the confidence model by cross-validation on the knowledge base itself.

Paraphrases and out-of-scope examples are split into folds; each fold is ranked by
an index built without it, and a logistic model learns from the ranking features
when the best topic is right. The thresholds then trade answers for clarifications
so that a confident wrong answer stays rare.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dialog.classifier import Calibration, ranking_features
from dialog.retrieval import NEGATIVE, Document, Ranking, TopicIndex, fuse
from dialog.semantic import SemanticIndex, meaning_of

# Confidently wrong answers allowed among held-out paraphrases and dev messages together. A
# held-out paraphrase is harder than what citizens type (its topic loses a fifth of its
# examples), so 5 % here keeps real messages under the 3 % the product promises.
MAX_WRONG_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Sample:
    features: tuple[float, ...]
    topic: str  # the held-out example's topic, NEGATIVE for out-of-scope
    predicted: str  # the best real topic the index found
    runner_up: str


def cross_validate(
    documents: Sequence[Document],
    folds: int = 5,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
    semantic: SemanticIndex | None = None,
) -> list[Sample]:
    """Each held-out paraphrase ranked by words and by meaning without its own fold.

    The meaning index lists the documents' examples first, in order (classifier.meaning_examples),
    so a document's example row is its position among the examples.
    """
    example_row = {i: n for n, i in enumerate(i for i, d in enumerate(documents) if d.is_example and d.words)}
    held = [i for i, d in enumerate(documents) if d.is_example and d.weight <= 1.0 and d.terms]
    random.Random(seed).shuffle(held)
    samples: list[Sample] = []
    for fold in range(folds):
        test = set(held[fold::folds])
        index = TopicIndex([d for i, d in enumerate(documents) if i not in test])
        exclude = None
        if semantic is not None:
            exclude = np.zeros(semantic.size, dtype=bool)
            exclude[[example_row[i] for i in test if i in example_row]] = True
        for i in sorted(test):
            meaning = meaning_of(semantic, documents[i].words, exclude)
            samples.append(_sample(fuse(index.rank(documents[i].terms), meaning), documents[i].topic))
        if progress:
            progress(fold + 1, folds)
    return samples


def labelled_samples(
    index: TopicIndex,
    examples: Sequence[tuple[Sequence[str], Sequence[str], str]],
    semantic: SemanticIndex | None,
) -> list[Sample]:
    """Samples from labelled messages (terms, words, topic or NEGATIVE) ranked by the full index."""
    samples = []
    for terms, words, topic in examples:
        samples.append(_sample(fuse(index.rank(terms), meaning_of(semantic, words)), topic))
    return samples


def _sample(ranking: Ranking, topic: str) -> Sample:
    real = [t for t, _ in ranking.scores if t != NEGATIVE] + ["", ""]
    return Sample(ranking_features(ranking), topic, real[0], real[1])


def fit_logistic(
    xs: Sequence[tuple[float, ...]], ys: Sequence[int], steps: int = 3000, rate: float = 0.5
) -> tuple[tuple[float, ...], float]:
    """Plain batch gradient descent with a little L2; the data are a few thousand rows."""
    dims = len(xs[0])
    weights = [0.0] * dims
    bias = 0.0
    n = len(xs)
    for _ in range(steps):
        grad = [0.0] * dims
        grad_b = 0.0
        for x, y in zip(xs, ys, strict=True):
            z = bias + sum(w * f for w, f in zip(weights, x, strict=True))
            err = 1.0 / (1.0 + math.exp(-z)) - y
            grad_b += err
            for k in range(dims):
                grad[k] += err * x[k]
        weights = [w - rate * (g / n + 1e-3 * w) for w, g in zip(weights, grad, strict=True)]
        bias -= rate * grad_b / n
    return tuple(round(w, 4) for w in weights), round(bias, 4)


def choose_thresholds(
    samples: Sequence[Sample], confidence: Callable[[tuple[float, ...]], float]
) -> tuple[float, float]:
    """The answer/clarify cut-offs that score best while keeping wrong answers rare.

    Scored like `okno eval`: a right answer earns 1, a question whose first button is
    right earns 0.5, an out-of-scope message refused earns 1; among the pairs whose
    confidently wrong share stays within MAX_WRONG_SHARE, the best total wins.
    """
    scored = [(confidence(s.features), s) for s in samples]
    best = (-math.inf, 0.9, 0.5)
    for answer_at in [a / 100 for a in range(30, 96, 2)]:
        wrong = sum(1 for conf, s in scored if conf >= answer_at and s.predicted != s.topic)
        if wrong > MAX_WRONG_SHARE * len(scored):
            continue
        for clarify_at in [c / 100 for c in range(10, int(answer_at * 100) + 1, 2)]:
            total = sum(_points(conf, s, answer_at, clarify_at) for conf, s in scored)
            if total > best[0]:
                best = (total, answer_at, clarify_at)
    return best[1], best[2]


def _points(conf: float, sample: Sample, answer_at: float, clarify_at: float) -> float:
    right = sample.topic != NEGATIVE and sample.predicted == sample.topic
    if conf >= answer_at:
        return 1.0 if right else 0.0
    if conf >= clarify_at:
        return 0.5 if right else 0.0
    return 1.0 if sample.topic == NEGATIVE else 0.0


def calibrate(samples: Sequence[Sample], realistic: Sequence[Sample] = ()) -> Calibration:
    """Fit the model on every sample, and set the thresholds on every sample too.

    The thresholds are chosen on both together: the dev messages alone are too few to trust,
    the held-out paraphrases alone too hard (see MAX_WRONG_SHARE).
    """
    everything = [*samples, *realistic]
    xs = [s.features for s in everything]
    ys = [int(s.topic != NEGATIVE and s.predicted == s.topic) for s in everything]
    weights, bias = fit_logistic(xs, ys)
    model = Calibration(weights, bias, 0.5, 0.3)
    answer_at, clarify_at = choose_thresholds(everything, model.confidence)
    return Calibration(weights, bias, answer_at, clarify_at)
