"""Turning raw citizen text into clean lowercase Cyrillic words.

Handles case and ё/е folding, control characters, emoji, text typed in the
English keyboard layout and Russian written in Latin letters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_TEXT_CHARS = 2000  # classification looks at the head of a huge message only

_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~"
_JCUKEN = "йцукенгшщзхъфывапролджэячсмитьбюёЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ"
_LAYOUT = str.maketrans(_QWERTY, _JCUKEN)

# Longest Latin sequences first; covers the common informal transliterations.
_IOTATED = {"a": "я", "u": "ю", "e": "е", "o": "ё"}
_VOWELS = {"a": "а", "e": "е", "i": "и", "o": "о", "u": "у"}
_TRANSLIT = [
    ("shch", "щ"),
    ("sch", "щ"),
    # a vowel before «ya/yu/ye/yo»: «obyasneniya» → «обяснения», not «…ийа»
    *((v + "y" + after, cyr + sound) for v, cyr in _VOWELS.items() for after, sound in _IOTATED.items()),
    ("yo", "ё"),
    ("yu", "ю"),
    ("ya", "я"),
    ("ye", "е"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("iy", "ий"),
    ("yy", "ый"),
    ("ay", "ай"),
    ("oy", "ой"),
    ("ey", "ей"),
    ("uy", "уй"),
    ("a", "а"),
    ("b", "б"),
    ("v", "в"),
    ("g", "г"),
    ("d", "д"),
    ("e", "е"),
    ("z", "з"),
    ("i", "и"),
    ("j", "й"),
    ("k", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "у"),
    ("f", "ф"),
    ("h", "х"),
    ("c", "ц"),
    ("w", "в"),
    ("x", "кс"),
    ("y", "ы"),
    ("q", "к"),
    ("'", "ь"),
]
_TRANSLIT_RE = re.compile("|".join(re.escape(latin) for latin, _ in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)

_WORD_RE = re.compile(r"[а-яё]+|[a-z]+|\d+")
_CYRILLIC_RE = re.compile(r"[а-яё]")
_LATIN_RE = re.compile(r"[a-z]")


def clean(text: str) -> str:
    """Lowercase, fold ё, drop control characters and cut an oversized message."""
    text = unicodedata.normalize("NFKC", text[: MAX_TEXT_CHARS * 2])[:MAX_TEXT_CHARS]
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text.lower().replace("ё", "е")


def words(text: str) -> list[str]:
    """Split cleaned text into Cyrillic words, Latin words and numbers."""
    return _WORD_RE.findall(text)


def from_layout(text: str) -> str:
    """Text typed with the English layout by mistake: «gfhjkm» → «пароль»."""
    return text.translate(_LAYOUT).lower().replace("ё", "е")


def from_translit(text: str) -> str:
    """Russian in Latin letters: «ne prihodit kod» → «не приходит код»."""
    return _TRANSLIT_RE.sub(lambda m: _TRANSLIT_MAP[m.group(0)], text.lower()).replace("ё", "е")


def has_cyrillic(text: str) -> bool:
    return _CYRILLIC_RE.search(text) is not None


def has_latin(text: str) -> bool:
    return _LATIN_RE.search(text) is not None


def to_russian_words(
    raw: str, is_known: Callable[[str], bool], is_familiar: Callable[[str], bool] | None = None
) -> list[str]:
    """Words of a message, with a Latin-only message re-read as layout or translit.

    `is_known` tells whether a Cyrillic word is a real word; the reading with the
    most known words wins, and the text stays as typed when neither helps. On a tie, the reading
    with more `is_familiar` words (ones the knowledge base itself uses) wins: «hi» is a greeting,
    not the rare dictionary word «хи».
    """
    text = clean(raw)
    if has_cyrillic(text) or not has_latin(text):
        return [_fix_latin_word(w, is_known) for w in words(text)]
    readings = [words(text), words(from_layout(raw)), words(from_translit(text))]
    familiar = is_familiar or is_known
    return max(readings, key=lambda ws: _known_share(ws, is_known, familiar))


def _known_share(
    reading: list[str], is_known: Callable[[str], bool], is_familiar: Callable[[str], bool]
) -> tuple[int, int, bool]:
    """How many words are known; on a tie a Russian reading wins («ty robot»: «ты робот»)."""
    known = sum(1 for w in reading if is_known(w))
    familiar = sum(1 for w in reading if is_familiar(w))
    return known, familiar, known > 0 and has_cyrillic("".join(reading))


def _fix_latin_word(word: str, is_known: Callable[[str], bool]) -> str:
    """A stray Latin word inside Russian text: keep it unless a reading is a known word.

    Two-letter words stay as typed: «ru», «id», «pc» read as layout make unrelated Russian
    abbreviations.
    """
    if not has_latin(word) or len(word) < 3 or is_known(word):
        return word
    for reading in (from_layout(word), from_translit(word)):
        if reading.isalpha() and is_known(reading):
            return reading
    return word
