"""One message in, one decision out: handoff, small talk, answer, clarify or fallback."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dialog.analyzer import Analysis, Analyzer
from dialog.errors import KnowledgeError
from dialog.escalation import EscalationRules, load_rules
from dialog.knowledge import KnowledgeBase, load_knowledge, read_yaml
from dialog.messages import Action, Decision
from dialog.normalize import clean, words
from dialog.retrieval import (
    NEGATIVE,
    WEIGHT_ANSWER,
    WEIGHT_KEYWORD,
    WEIGHT_PARAPHRASE,
    WEIGHT_TITLE,
    Document,
    Ranking,
    TopicIndex,
)
from dialog.scope import ScopeRule, load_scope_rules
from dialog.smalltalk import Smalltalk, load_smalltalk
from dialog.stopwords import STOPWORDS

logger = logging.getLogger("okno.dialog.classifier")

CLARIFY_MAX = 3
CLARIFY_RATIO = 0.7  # a clarify candidate scores at least this share of the best
AMBIGUOUS_RATIO = 0.9  # a runner-up this close to the best means asking, not answering


@dataclass(frozen=True, slots=True)
class Calibration:
    """A logistic model from ranking features to P(best topic is right), and thresholds."""

    weights: tuple[float, ...]
    bias: float
    answer_at: float
    clarify_at: float

    def confidence(self, features: tuple[float, ...]) -> float:
        z = self.bias + sum(w * f for w, f in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


DEFAULT_CALIBRATION = Calibration((4.0, 4.0, 1.0, -2.0, 1.0, 1.0, 0.0, 1.0), -3.0, 0.6, 0.45)


def ranking_features(ranking: Ranking) -> tuple[float, ...]:
    """What the confidence model looks at: how well and how clearly the best topic matched."""
    real = [(t, s) for t, s in ranking.scores if t != NEGATIVE]
    negative = next((s for t, s in ranking.scores if t == NEGATIVE), 0.0)
    first = real[0][1] if real else 0.0
    second = real[1][1] if len(real) > 1 else 0.0
    profile, example, matched = ranking.parts.get(real[0][0], (0.0, 0.0, 0.0)) if real else (0.0, 0.0, 0.0)
    terms = min(ranking.terms, 10) / 10
    return (first, first - second, ranking.coverage, negative, profile, example, terms, matched)


def load_calibration(path: Path) -> Calibration:
    """The fitted model, or the built-in one when the file is missing or stale."""
    if not path.exists():
        return DEFAULT_CALIBRATION
    data = read_yaml(path)
    try:
        calibration = Calibration(
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            answer_at=float(data["answer_at"]),
            clarify_at=float(data["clarify_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise KnowledgeError([f"{path.name}: {exc}; run `okno kb calibrate`"]) from exc
    if len(calibration.weights) != len(DEFAULT_CALIBRATION.weights):
        logger.warning("%s was fitted for other features; using defaults until `okno kb calibrate`", path)
        return DEFAULT_CALIBRATION
    return calibration


class Classifier:
    """Decides what to do with a single message; stateless and pure."""

    def __init__(
        self,
        knowledge: KnowledgeBase,
        analyzer: Analyzer,
        index: TopicIndex,
        rules: EscalationRules,
        smalltalk: Smalltalk,
        calibration: Calibration,
        scope_rules: list[ScopeRule],
    ) -> None:
        self.knowledge = knowledge
        self.analyzer = analyzer
        self.index = index
        self.rules = rules
        self.smalltalk = smalltalk
        self.calibration = calibration
        self.scope_rules = scope_rules

    def classify(self, text: str) -> Decision:
        analysis = self.analyzer.analyze(text)
        return self.by_rules(text, analysis) or self.decide(self.rank(analysis))

    def by_rules(self, text: str, analysis: Analysis) -> Decision | None:
        """Outcomes that need no ranking; escalation is checked first."""
        if not analysis.words:
            return self._smalltalk(text, analysis) or Decision(
                Action.FALLBACK, intent="empty" if not text.strip() else "no_words"
            )
        for check in (self._escalation, self._smalltalk, self._out_of_scope):
            decision = check(text, analysis)
            if decision is not None:
                return decision
        return None

    def _escalation(self, text: str, analysis: Analysis) -> Decision | None:
        rule = self.rules.first_match(analysis.text)
        return None if rule is None else Decision(Action.HANDOFF, rule=rule.id, confidence=1.0)

    def _smalltalk(self, text: str, analysis: Analysis) -> Decision | None:
        intent = self.smalltalk.detect(text, analysis.words)
        return None if intent is None else Decision(Action.SMALLTALK, intent=intent.id, confidence=1.0)

    def _out_of_scope(self, text: str, analysis: Analysis) -> Decision | None:
        if all(w.isdigit() for w in analysis.words):
            return Decision(Action.FALLBACK, intent="number")
        scope = next((r for r in self.scope_rules if r.trigger.fires(analysis.text)), None)
        return None if scope is None else Decision(Action.FALLBACK, intent=f"out_of_scope:{scope.id}")

    def rank(self, analysis: Analysis) -> Ranking:
        rest = self.smalltalk.remainder(analysis.words)
        if rest != analysis.text:
            analysis = self.analyzer.analyze(rest)
        return self.index.rank(analysis.terms)

    def decide(self, ranking: Ranking) -> Decision:
        real = [(t, s) for t, s in ranking.scores if t != NEGATIVE]
        if not real:
            return Decision(Action.FALLBACK)
        confidence = self.calibration.confidence(ranking_features(ranking))
        best_topic, best_score = real[0]
        close = tuple(t for t, s in real[:CLARIFY_MAX] if s >= CLARIFY_RATIO * best_score)
        one_known_word = ranking.terms <= 1 and ranking.coverage >= 1.0
        # one word that fits several topics, or a runner-up nearly as good: ask
        ambiguous = len(close) > 1 and (one_known_word or real[1][1] >= AMBIGUOUS_RATIO * best_score)
        if confidence >= self.calibration.answer_at and not ambiguous:
            return Decision(Action.ANSWER, topic=best_topic, candidates=close, confidence=confidence)
        out_of_scope_first = ranking.scores[0][0] == NEGATIVE
        candidates = close if len(close) > 1 else tuple(t for t, _ in real[:2])
        asks = confidence >= self.calibration.clarify_at or (ambiguous and one_known_word)
        if asks and len(candidates) > 1 and not out_of_scope_first:
            return Decision(Action.CLARIFY, candidates=candidates, confidence=confidence)
        return Decision(Action.FALLBACK, candidates=close, confidence=confidence)


def topic_documents(knowledge: KnowledgeBase, analyzer: Analyzer) -> list[Document]:
    docs = []
    for topic in knowledge.topics.values():
        texts = [(topic.title, WEIGHT_TITLE, True), (topic.answer, WEIGHT_ANSWER, False)]
        texts += [(p, WEIGHT_PARAPHRASE, True) for p in topic.paraphrases]
        texts += [(k, WEIGHT_KEYWORD, False) for k in topic.keywords]
        for text, weight, is_example in texts:
            docs.append(Document(topic.id, analyzer.analyze(text).terms, weight, is_example))
    docs += [
        Document(NEGATIVE, analyzer.analyze(n).terms, WEIGHT_PARAPHRASE, True) for n in knowledge.negatives
    ]
    return docs


def vocabulary(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter(w for w in STOPWORDS if len(w) >= 3)
    for text in texts:
        counts.update(w for w in words(clean(text)) if len(w) >= 3 and w.isalpha())
    return counts


def knowledge_texts(knowledge: KnowledgeBase, extra_dir: Path) -> list[str]:
    texts: list[str] = list(knowledge.negatives)
    for topic in knowledge.topics.values():
        texts += [topic.title, topic.answer, *topic.paraphrases, *topic.keywords]
    for name in ("synonyms.yaml", "smalltalk.yaml", "escalation.yaml", "out_of_scope.yaml"):
        path = extra_dir / name
        if path.exists():
            texts += _strings(read_yaml(path))
    return texts


def _strings(value: object) -> list[str]:
    """Every string leaf of parsed YAML except regular-expression terms."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    text = str(value)
    return [] if text.startswith("re:") else [text.lstrip("=")]


def build_classifier(knowledge: KnowledgeBase | None = None) -> Classifier:
    """Load everything the classifier needs from the knowledge directory."""
    knowledge = knowledge or load_knowledge()
    directory = knowledge.directory
    synonyms = read_yaml(directory / "synonyms.yaml").get("synonyms") or {}
    analyzer = Analyzer.create(vocabulary(knowledge_texts(knowledge, directory)), synonyms)
    index = TopicIndex(topic_documents(knowledge, analyzer))
    return Classifier(
        knowledge,
        analyzer,
        index,
        load_rules(directory / "escalation.yaml"),
        load_smalltalk(directory / "smalltalk.yaml"),
        load_calibration(directory / "calibration.yaml"),
        load_scope_rules(directory / "out_of_scope.yaml"),
    )
