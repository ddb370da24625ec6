"""Russian text analysis: words, typo correction, stems and synonym concepts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pymorphy3
import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from dialog.normalize import clean, to_russian_words, words
from dialog.stopwords import STOPWORDS

_CACHE_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class Analysis:
    """A message as the classifier sees it."""

    words: tuple[str, ...]  # corrected surface words, in order, stopwords kept
    terms: tuple[str, ...]  # stems and synonym concepts of the content words
    text: str  # the corrected words joined by spaces, for phrase patterns


class Analyzer:
    """Maps words to stems and concepts; corrects typos towards the known vocabulary."""

    def __init__(
        self,
        morph: pymorphy3.MorphAnalyzer,
        vocabulary: Counter[str],
        synonyms: Mapping[str, Iterable[str]],
    ) -> None:
        self._morph = morph
        self._stemmer = Stemmer.Stemmer("russian")
        self._vocabulary = vocabulary
        self._by_length: dict[int, list[str]] = {}
        for word in vocabulary:
            self._by_length.setdefault(len(word), []).append(word)
        self._word_cache: dict[str, str] = {}
        self._phrases: dict[tuple[str, ...], str] = {}
        for concept, variants in synonyms.items():
            for variant in (concept, *variants):
                stems = tuple(self.stem(w) for w in words(clean(str(variant))))
                if stems:
                    self._phrases[stems] = "=" + concept.replace(" ", "_")
        self._longest_phrase = max((len(p) for p in self._phrases), default=1)

    @classmethod
    def create(cls, vocabulary: Counter[str], synonyms: Mapping[str, Iterable[str]]) -> Analyzer:
        return cls(pymorphy3.MorphAnalyzer(), vocabulary, synonyms)

    def is_known(self, word: str) -> bool:
        """A real word: in our vocabulary, a stopword, or in the Russian dictionary."""
        if word in self._vocabulary or word in STOPWORDS:
            return True
        return len(word) > 1 and word[0] >= "а" and self._morph.word_is_known(word)

    def is_familiar(self, word: str) -> bool:
        """A word the knowledge base itself uses, or a stopword."""
        return word in self._vocabulary or word in STOPWORDS

    def lemma(self, word: str) -> str:
        """The dictionary form: «паспорта» → «паспорт»."""
        return str(self._morph.parse(word)[0].normal_form)

    def stem(self, word: str) -> str:
        return str(self._stemmer.stemWord(word))

    def correct(self, word: str) -> str:
        """The vocabulary word a misspelt word most likely means, else the word itself."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        fixed = self._correct_uncached(word)
        if len(self._word_cache) >= _CACHE_LIMIT:
            self._word_cache.clear()
        self._word_cache[word] = fixed
        return fixed

    def _correct_uncached(self, word: str) -> str:
        if len(word) < 3 or not word.isalpha() or self.is_known(word):
            return word
        limit = 1 if len(word) < 8 else 2 if len(word) < 12 else 3
        best: tuple[int, int, str] | None = None
        for length in range(max(len(word) - limit, 3), len(word) + limit + 1):
            pool = self._by_length.get(length)
            if not pool:
                continue
            for candidate, distance, _ in process.extract(
                word, pool, scorer=Levenshtein.distance, score_cutoff=limit, limit=5
            ):
                key = (int(distance), -self._vocabulary[candidate], candidate)
                if best is None or key < best:
                    best = key
        return word if best is None else best[2]

    def analyze(self, raw: str) -> Analysis:
        corrected = tuple(self.correct(w) for w in to_russian_words(raw, self.is_known, self.is_familiar))
        stems = [self.stem(w) for w in corrected]
        # bare numbers say little about a topic unless a synonym phrase makes them a concept
        keep = [w not in STOPWORDS and not w.isdigit() for w in corrected]
        return Analysis(corrected, tuple(self._concepts(stems, keep)), " ".join(corrected))

    def _concepts(self, stems: list[str], keep: list[bool]) -> list[str]:
        """Stems of content words, with known phrases replaced by their concept."""
        out: list[str] = []
        i = 0
        while i < len(stems):
            for size in range(min(self._longest_phrase, len(stems) - i), 0, -1):
                concept = self._phrases.get(tuple(stems[i : i + size]))
                if concept is not None:
                    out.append(concept)
                    i += size
                    break
            else:
                if keep[i]:
                    out.append(stems[i])
                i += 1
        return out
