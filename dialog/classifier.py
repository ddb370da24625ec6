"""One message in, one decision out: handoff, small talk, answer, clarify or fallback."""

from __future__ import annotations

import heapq
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dialog.analyzer import Analysis, Analyzer
from dialog.chatter import SMALLTALK_MAX_WORDS, Chatter, asks_words
from dialog.errors import KnowledgeError
from dialog.escalation import EscalationRule, EscalationRules, load_rules
from dialog.knowledge import KnowledgeBase, load_knowledge, read_yaml
from dialog.messages import Action, Decision
from dialog.normalize import clean, has_latin, words
from dialog.retrieval import (
    HANDOFF_LABEL,
    NEGATIVE,
    SMALLTALK_LABEL,
    WEIGHT_ANSWER,
    WEIGHT_KEYWORD,
    WEIGHT_PARAPHRASE,
    WEIGHT_TITLE,
    Document,
    Ranking,
    TopicIndex,
    fuse,
)
from dialog.scope import ScopeRule, load_scope_rules
from dialog.semantic import WORD_VECTORS_FILE, SemanticIndex, StaticEncoder, WordVectors, meaning_of
from dialog.smalltalk import Smalltalk, load_smalltalk
from dialog.stopwords import STOPWORDS

logger = logging.getLogger("okno.dialog.classifier")

CLARIFY_MAX = 3
ONE_WORD_SPREAD = 20  # a lone word that over half the topics use says too little to answer
CLARIFY_RATIO = 0.7  # a clarify candidate scores at least this share of the best
AMBIGUOUS_RATIO = 0.9  # a runner-up this close to the best means asking, not answering
HANDOFF_AT = 0.8  # a handoff example this close, by meaning …
HANDOFF_MARGIN = 0.04  # … and this much closer than any topic or out-of-scope example
HANDOFF_NEAR_AT = 0.4  # a handoff situation this close by meaning, and its rule's looser pattern
HANDOFF_NEAR_SLACK = 0.08  # matches, while nothing else is more than this much closer
SMALLTALK_AT = 0.85
SMALLTALK_MARGIN = 0.05
OUT_OF_SCOPE_AT = 0.45  # a request around the small talk reads this much like an out-of-scope one …
OUT_OF_SCOPE_MARGIN = 0.05  # … and this much more than like anything else
LONG_STORY_WORDS = 15  # a message this long is also searched sentence by sentence for a request
_SENTENCE_END = re.compile(r"[.!?…;\n]+")


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


DEFAULT_CALIBRATION = Calibration((4.0, 4.0, 1.0, -2.0, 1.0, 1.0, 0.0, 1.0, 2.0, 2.0, -2.0), -4.0, 0.6, 0.45)


def ranking_features(ranking: Ranking) -> tuple[float, ...]:
    """What the confidence model looks at: how well and how clearly the best topic matched,
    by words and by meaning."""
    real = [(t, s) for t, s in ranking.scores if t != NEGATIVE]
    negative = next((s for t, s in ranking.scores if t == NEGATIVE), 0.0)
    first = real[0][1] if real else 0.0
    second = real[1][1] if len(real) > 1 else 0.0
    profile, example, matched = ranking.parts.get(real[0][0], (0.0, 0.0, 0.0)) if real else (0.0, 0.0, 0.0)
    terms = min(ranking.terms, 10) / 10
    meaning = ranking.meaning
    best_meaning = meaning.get(real[0][0], 0.0) if real else 0.0
    rival = max(
        (c for t, c in meaning.items() if t not in (NEGATIVE, real[0][0] if real else "")), default=0.0
    )
    return (
        first,
        first - second,
        ranking.coverage,
        negative,
        profile,
        example,
        terms,
        matched,
        best_meaning,
        best_meaning - rival,
        meaning.get(NEGATIVE, 0.0),
    )


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
        semantic: SemanticIndex | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.analyzer = analyzer
        self.index = index
        self.rules = rules
        self.smalltalk = smalltalk
        self.calibration = calibration
        self.scope_rules = scope_rules
        self.semantic = semantic
        self.chatter = Chatter(analyzer, smalltalk, rules)

    def classify(self, text: str) -> Decision:
        analysis = self.analyzer.analyze(text)
        decision = self.by_rules(text, analysis)
        if decision is not None:
            return decision
        courtesy = self.chatter.courtesy_to_people(analysis, text)
        if courtesy is not None:
            return courtesy
        full, analysis = analysis, self.content(analysis)
        meaning = self.meaning(analysis.words)
        # the situations' patterns see the whole message: «поблагодарить специалиста» is not a request
        by_meaning = self.by_meaning(meaning, len(analysis.words), full.text)
        if by_meaning is not None:
            return by_meaning
        decision = self.decide(fuse(self.index.rank(analysis.terms), meaning))
        situation = self._next_to_a_situation(full.text, decision)
        if situation is not None or _asks_out_of_scope(analysis, meaning, text):
            return situation or decision
        return self.chatter.unless_smalltalk(full, decision, text, analysis)

    def _next_to_a_situation(self, text: str, decision: Decision) -> Decision | None:
        """A message placed in a topic next to a handoff situation, with that situation's markers."""
        topic = decision.topic or next(iter(decision.candidates), None)
        if topic is None or decision.action is Action.FALLBACK:
            return None
        rule = self.rules.near_topic(topic, text)
        return (
            None if rule is None else Decision(Action.HANDOFF, rule=rule.id, confidence=decision.confidence)
        )

    def meaning(self, words: tuple[str, ...]) -> dict[str, float]:
        return meaning_of(self.semantic, words)

    def by_meaning(self, meaning: dict[str, float], words: int, text: str) -> Decision | None:
        """A message that reads like a handoff situation or small talk, clearly more than anything else."""
        if not meaning:
            return None
        label, cosine = max(meaning.items(), key=lambda item: item[1])
        kind = label.partition(":")[0] + ":"
        rival = max((c for lab, c in meaning.items() if not lab.startswith(kind)), default=0.0)
        rule = self.rules.by_id.get(label.removeprefix(kind))
        blocked = isinstance(rule, EscalationRule) and rule.trigger.blocked(text)
        if (
            kind == HANDOFF_LABEL
            and cosine >= HANDOFF_AT
            and cosine - rival >= HANDOFF_MARGIN
            and not blocked
        ):
            return Decision(Action.HANDOFF, rule=label.removeprefix(kind), confidence=cosine)
        near = next(self._near_situations(meaning, cosine, text), None)
        if near is not None:
            return Decision(Action.HANDOFF, rule=near[0], confidence=near[1])
        short = words <= SMALLTALK_MAX_WORDS
        if (
            kind == SMALLTALK_LABEL
            and short
            and cosine >= SMALLTALK_AT
            and cosine - rival >= SMALLTALK_MARGIN
        ):
            return Decision(Action.SMALLTALK, intent=label.removeprefix(kind), confidence=cosine)
        return None

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
        rule = self.rules.first_match(analysis.text) or self._escalation_in_a_sentence(text, analysis)
        return None if rule is None else Decision(Action.HANDOFF, rule=rule.id, confidence=1.0)

    def _escalation_in_a_sentence(self, text: str, analysis: Analysis) -> EscalationRule | None:
        """A long story whose one sentence asks for a person: an `unless` word elsewhere in the
        story («какие-то уведомления», «за это время») must not hide the request."""
        if len(analysis.words) < LONG_STORY_WORDS:
            return None
        sentences = [self.analyzer.analyze(s).text for s in _SENTENCE_END.split(text) if s.strip()]
        return self.rules.in_a_sentence(sentences)

    def _smalltalk(self, text: str, analysis: Analysis) -> Decision | None:
        intent = self.smalltalk.detect(text, analysis.words)
        return None if intent is None else Decision(Action.SMALLTALK, intent=intent.id, confidence=1.0)

    def _out_of_scope(self, text: str, analysis: Analysis) -> Decision | None:
        if all(w.isdigit() for w in analysis.words):
            return Decision(Action.FALLBACK, intent="number")
        scope = next((r for r in self.scope_rules if r.trigger.fires(analysis.text)), None)
        if scope is None or self.chatter.only_courtesy(text, analysis):
            return None
        return Decision(Action.FALLBACK, intent=f"out_of_scope:{scope.id}")

    def _near_situations(
        self, meaning: dict[str, float], best: float, text: str
    ) -> Iterator[tuple[str, float]]:
        """Handoff situations the message reads nearly as much like as its best match, whose
        looser pattern also matches: the words and the meaning agree."""
        for label, score in sorted(meaning.items(), key=lambda item: -item[1]):
            if score < max(HANDOFF_NEAR_AT, best - HANDOFF_NEAR_SLACK):
                return
            rule = self.rules.by_id.get(label.removeprefix(HANDOFF_LABEL))
            near = isinstance(rule, EscalationRule) and rule.near is not None and rule.near.fires(text)
            if label.startswith(HANDOFF_LABEL) and near and rule is not None:
                yield rule.id, score

    def content(self, analysis: Analysis) -> Analysis:
        """The message without its greeting or thanks."""
        rest = self.smalltalk.remainder(analysis.words)
        return analysis if rest == analysis.text else self.analyzer.analyze(rest)

    def decide(self, ranking: Ranking) -> Decision:
        real = [(t, s) for t, s in ranking.scores if t != NEGATIVE]
        if not real:
            return Decision(Action.FALLBACK)
        confidence = self.calibration.confidence(ranking_features(ranking))
        one_known_word = ranking.terms <= 1 and ranking.coverage >= 1.0
        if one_known_word and ranking.lexical:  # one word: what the word itself fits, not its neighbours
            real = [(t, s) for t, s in ranking.lexical if t != NEGATIVE] or real
        best_topic, best_score = real[0]
        close = tuple(t for t, s in real[:CLARIFY_MAX] if s >= CLARIFY_RATIO * best_score)
        if one_known_word and ranking.spread >= ONE_WORD_SPREAD:  # «поддержка», «документы»
            close = tuple(t for t, _ in real[:CLARIFY_MAX])
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


def _asks_out_of_scope(content: Analysis, meaning: dict[str, float], raw: str) -> bool:
    """Around the greeting or thanks is a request the service does not answer («спасибо, как
    оформить ВНЖ в Сербии?»): that is the reply the citizen needs, not a «пожалуйста»."""
    if not meaning or not ("?" in raw or asks_words(content.text)):
        return False
    (best, cosine), *rest = heapq.nlargest(2, meaning.items(), key=lambda item: item[1])
    rival = rest[0][1] if rest else 0.0
    return best == NEGATIVE and cosine >= OUT_OF_SCOPE_AT and cosine - rival >= OUT_OF_SCOPE_MARGIN


def topic_documents(knowledge: KnowledgeBase, analyzer: Analyzer) -> list[Document]:
    docs = []
    for topic in knowledge.topics.values():
        texts = [(topic.title, WEIGHT_TITLE, True), (topic.answer, WEIGHT_ANSWER, False)]
        texts += [(p, WEIGHT_PARAPHRASE, True) for p in topic.paraphrases]
        texts += [(k, WEIGHT_KEYWORD, False) for k in topic.keywords]
        for text, weight, is_example in texts:
            analysis = analyzer.analyze(text)
            docs.append(Document(topic.id, analysis.terms, weight, is_example, analysis.words))
    for negative in knowledge.negatives:
        analysis = analyzer.analyze(negative)
        docs.append(Document(NEGATIVE, analysis.terms, WEIGHT_PARAPHRASE, True, analysis.words))
    return docs


def meaning_examples(
    documents: Sequence[Document], extra: dict[str, list[str]], analyzer: Analyzer
) -> list[tuple[str, tuple[str, ...]]]:
    """Titles, paraphrases and out-of-scope examples first (in document order), then the
    handoff and small-talk examples, each with its label."""
    examples = [(d.topic, d.words) for d in documents if d.is_example and d.words]
    for label, texts in extra.items():
        examples += [(label, analyzer.analyze(t).words) for t in texts]
    return examples


def build_semantic(
    knowledge: KnowledgeBase, analyzer: Analyzer, documents: Sequence[Document]
) -> SemanticIndex | None:
    vectors_path = knowledge.directory / WORD_VECTORS_FILE
    if not vectors_path.exists():
        logger.warning("%s is missing: meaning-level matching is off (run `okno kb vectors`)", vectors_path)
        return None
    vectors = WordVectors.load(vectors_path)
    extra = load_examples(knowledge.directory / "examples.yaml")
    examples = meaning_examples(documents, extra, analyzer)
    encoder = StaticEncoder.fitted(vectors, (words for _, words in examples), analyzer.lemma)
    return SemanticIndex(encoder, examples)


def load_examples(path: Path) -> dict[str, list[str]]:
    """handoff/small-talk examples as {"handoff:<rule>": [...], "smalltalk:<intent>": [...]}."""
    if not path.exists():
        return {}
    data = read_yaml(path)
    out: dict[str, list[str]] = {}
    for prefix in (HANDOFF_LABEL, SMALLTALK_LABEL):
        for key, texts in (data.get(prefix.rstrip(":")) or {}).items():
            out[prefix + str(key)] = [str(t) for t in texts or ()]
    return out


def vocabulary(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter(w for w in STOPWORDS if len(w) >= 3)
    for text in texts:
        # Russian words only: a translit or wrong-layout example must not make Latin gibberish "known"
        counts.update(w for w in words(clean(text)) if len(w) >= 3 and w.isalpha() and not has_latin(w))
    return counts


def english_words(texts: Iterable[str]) -> Counter[str]:
    return Counter(w for text in texts for w in words(clean(text)) if w.isascii() and w.isalpha())


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
    known = vocabulary(knowledge_texts(knowledge, directory))
    # English small talk («thank you so much») is read as English, not as translit
    known.update(english_words(_strings(read_yaml(directory / "smalltalk.yaml"))))
    analyzer = Analyzer.create(known, synonyms)
    documents = topic_documents(knowledge, analyzer)
    index = TopicIndex(documents)
    return Classifier(
        knowledge,
        analyzer,
        index,
        load_rules(directory / "escalation.yaml"),
        load_smalltalk(directory / "smalltalk.yaml"),
        load_calibration(directory / "calibration.yaml"),
        load_scope_rules(directory / "out_of_scope.yaml"),
        build_semantic(knowledge, analyzer, documents),
    )
