"""Ranking knowledge-base topics for a message: TF-IDF over stems and concepts.

Each topic is scored twice — against everything written for it (title, paraphrases,
keywords, answer) and against its single closest paraphrase — and the two cosines
are blended. Out-of-scope examples form a pseudo-topic of their own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

NEGATIVE = "__out_of_scope__"
# Meaning-level labels that are not topics: a handoff situation or a small-talk intent.
HANDOFF_LABEL = "handoff:"
SMALLTALK_LABEL = "smalltalk:"
PREFIX_LEN = 5  # derivational variants share a prefix: паспорт/паспортный

# How much each kind of text counts in a topic's profile.
WEIGHT_TITLE = 2.0
WEIGHT_PARAPHRASE = 1.0
WEIGHT_KEYWORD = 1.5
WEIGHT_ANSWER = 0.3
PREFIX_WEIGHT = 0.4
BLEND = 0.7  # share of the whole-topic cosine against the best-paraphrase cosine


@dataclass(frozen=True, slots=True)
class Document:
    """One text of a topic, already reduced to terms."""

    topic: str
    terms: tuple[str, ...]
    weight: float
    is_example: bool  # paraphrases and titles are matched one by one
    words: tuple[str, ...] = ()  # the corrected words, for meaning-level matching


@dataclass(frozen=True, slots=True)
class Ranking:
    scores: tuple[tuple[str, float], ...]  # best first
    coverage: float  # share of the message's term weight the index knows
    parts: dict[str, tuple[float, float, float]]  # topic -> (profile, best example, matched share)
    terms: int = 0  # content terms in the message
    meaning: dict[str, float] = field(default_factory=dict)  # label -> best example cosine
    lexical: tuple[tuple[str, float], ...] = ()  # the scores by words alone, before fusing
    spread: int = 0  # how many topics use the message's rarest term

    def top(self, n: int) -> list[tuple[str, float]]:
        return list(self.scores[:n])


def expand(terms: Iterable[str]) -> dict[str, float]:
    """Terms with their weights, plus a weaker prefix term for long stems."""
    out: dict[str, float] = defaultdict(float)
    for term in terms:
        out[term] += 1.0
        if not term.startswith("=") and len(term) > PREFIX_LEN:
            out["~" + term[:PREFIX_LEN]] += PREFIX_WEIGHT
    return out


class TopicIndex:
    """An inverted index over topic profiles and individual examples."""

    def __init__(self, documents: Sequence[Document]) -> None:
        profiles: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for doc in documents:
            for term, weight in expand(doc.terms).items():
                profiles[doc.topic][term] += doc.weight * min(weight, 1.0)
        self.topics = list(profiles)
        spread: dict[str, int] = defaultdict(int)
        for profile in profiles.values():
            for term in profile:
                spread[term] += 1
        n = len(self.topics)
        self.spread = dict(spread)  # how many topics' profiles use each term
        self.idf = {t: math.log((n + 1) / (df + 0.5)) for t, df in spread.items()}
        self.unknown_idf = math.log((n + 1) / 0.5)
        self._profile_postings = self._postings(
            (i, {t: math.sqrt(w) for t, w in profiles[topic].items()}) for i, topic in enumerate(self.topics)
        )
        # examples ordered by topic, so a topic's best example is one reduceat over a slice
        examples = sorted(
            (d for d in documents if d.is_example and d.terms), key=lambda d: self.topics.index(d.topic)
        )
        example_topic = np.array([self.topics.index(d.topic) for d in examples], dtype=np.int64)
        self._example_topics, self._example_starts = np.unique(example_topic, return_index=True)
        self._example_count = len(examples)
        self._example_postings = {
            term: (np.array([i for i, _ in items], dtype=np.int64), np.array([w for _, w in items]))
            for term, items in self._postings(
                (i, dict.fromkeys(expand(d.terms), 1.0)) for i, d in enumerate(examples)
            ).items()
        }

    def _postings(
        self, vectors: Iterable[tuple[int, dict[str, float]]]
    ) -> dict[str, list[tuple[int, float]]]:
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, vector in vectors:
            weighted = {t: w * self.idf[t] for t, w in vector.items()}
            norm = math.sqrt(sum(w * w for w in weighted.values())) or 1.0
            for term, weight in weighted.items():
                postings[term].append((i, weight / norm))
        return dict(postings)

    def _best_examples(self, query: dict[str, float], norm: float) -> list[float]:
        """Each topic's best single-example cosine, vectorised over the postings."""
        hits = [(self._example_postings[t], w) for t, w in query.items() if t in self._example_postings]
        best = [0.0] * len(self.topics)
        if not hits or not self._example_count:
            return best
        rows = np.concatenate([rows for (rows, _), _ in hits])
        values = np.concatenate([values * (weight / norm) for (_, values), weight in hits])
        scores = np.bincount(rows, weights=values, minlength=self._example_count)
        for topic, value in zip(
            self._example_topics, np.maximum.reduceat(scores, self._example_starts), strict=True
        ):
            best[int(topic)] = float(value)
        return best

    def rank(self, terms: Sequence[str]) -> Ranking:
        query = {t: w * self.idf.get(t, self.unknown_idf) for t, w in expand(terms).items()}
        norm = math.sqrt(sum(w * w for w in query.values()))
        if norm == 0.0:
            return Ranking((), 0.0, {})
        known = sum(w for t, w in query.items() if t in self.idf and not t.startswith("~"))
        total = sum(w for t, w in query.items() if not t.startswith("~"))
        profile = [0.0] * len(self.topics)
        matched = [0.0] * len(self.topics)  # the message's own term weight each topic knows
        for term, weight in query.items():
            for i, value in self._profile_postings.get(term, ()):
                profile[i] += weight * value / norm
                matched[i] += weight
        best = self._best_examples(query, norm)
        blended = [BLEND * p + (1 - BLEND) * b for p, b in zip(profile, best, strict=True)]
        order = sorted(range(len(self.topics)), key=lambda i: -blended[i])
        scores = tuple((self.topics[i], blended[i]) for i in order if blended[i] > 0)
        own = sum(query.values())
        parts = {self.topics[i]: (profile[i], best[i], matched[i] / own) for i in order[:4]}
        spread = min((self.spread.get(t, 0) for t in terms), default=0)
        return Ranking(scores, known / total if total else 0.0, parts, len(terms), spread=spread)


MEANING_WEIGHT = 0.6  # how much a meaning-level match adds to a topic's lexical score
MEANING_FLOOR = 0.55  # cosines below this say nothing: unrelated texts still score about 0.4


def fuse(ranking: Ranking, meaning: dict[str, float]) -> Ranking:
    """Lexical scores plus the meaning-level boost of each topic, re-ordered."""
    combined = dict(ranking.scores)
    for label, cosine in meaning.items():
        if cosine > MEANING_FLOOR and (
            label in combined or not label.startswith((HANDOFF_LABEL, SMALLTALK_LABEL))
        ):
            combined[label] = combined.get(label, 0.0) + MEANING_WEIGHT * (cosine - MEANING_FLOOR)
    scores = tuple(sorted(combined.items(), key=lambda item: -item[1]))
    return replace(ranking, scores=scores, meaning=meaning, lexical=ranking.scores)
