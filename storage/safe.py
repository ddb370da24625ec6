"""Values from outside made storable: no NUL bytes or lone surrogates, no endless nesting, no
string longer than its column. PostgreSQL refuses the first two, every database the last."""

from __future__ import annotations

import re
from typing import Any, overload

MAX_DEPTH = 32  # Telegram's and VK's updates nest a handful of levels; deeper is not an update
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def safe_text(text: str) -> str:
    """NUL removed, a lone surrogate (half of an emoji cut in two) replaced by �."""
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def safe_json(value: Any, depth: int = 0) -> Any:
    """A JSON value with every string made safe; anything nested deeper than MAX_DEPTH dropped."""
    if isinstance(value, str):
        return safe_text(value)
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [safe_json(v, depth + 1) for v in value]
    return value


@overload
def fit(text: str, size: int) -> str: ...


@overload
def fit(text: None, size: int) -> None: ...


def fit(text: str | None, size: int) -> str | None:
    """Cut to a column's size, marking the cut."""
    if text is None or len(text) <= size:
        return text
    return text[: size - 1] + "…"
