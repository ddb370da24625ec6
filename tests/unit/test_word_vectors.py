"""The word-vector table on disk: written by `okno kb vectors`, read row by row by the running bot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dialog.errors import KnowledgeError
from dialog.semantic import WordVectors, quantize, save_table

WORDS = ["паспорт", "заграничный", "ёлка", "пенсия", "а", "яблоко", "услуга"]


@pytest.fixture
def table(tmp_path: Path) -> tuple[Path, np.ndarray]:
    vectors = np.random.default_rng(7).normal(size=(len(WORDS), 16)).astype(np.float32)
    save_table(tmp_path / "vectors", WORDS, *quantize(vectors))
    return tmp_path / "vectors", vectors


def test_every_word_finds_its_own_row_and_an_unknown_word_none(table: tuple[Path, np.ndarray]) -> None:
    vectors = WordVectors.load(table[0])
    assert [vectors.row(w) for w in WORDS] == list(range(len(WORDS)))
    assert vectors.row("справка") is None
    assert vectors.row("") is None
    assert vectors.row("ящик") is None  # past the last word in sorted order


def test_a_combination_is_the_weighted_sum_of_the_centred_vectors(table: tuple[Path, np.ndarray]) -> None:
    folder, original = table
    vectors = WordVectors.load(folder)
    centred = original - original.mean(axis=0)
    got = vectors.combine([0, 5], [2.0, 0.5])
    want = 2.0 * centred[0] + 0.5 * centred[5]
    assert vectors.dim == 16
    np.testing.assert_allclose(got, want, atol=0.05 * float(np.abs(want).max()))


def test_a_missing_or_inconsistent_table_says_how_to_rebuild_it(table: tuple[Path, np.ndarray]) -> None:
    folder, _ = table
    np.save(folder / "scales.npy", np.ones(3, dtype=np.float32))
    with pytest.raises(KnowledgeError, match="okno kb vectors"):
        WordVectors.load(folder)
    (folder / "codes.npy").unlink()
    with pytest.raises(KnowledgeError, match="okno kb vectors"):
        WordVectors.load(folder)
