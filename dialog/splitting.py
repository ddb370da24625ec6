"""Splitting long texts for messengers' length limits, on the most natural boundary."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most `limit` characters, cut at paragraphs, then lines, then words."""
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_at(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def _cut_at(text: str, limit: int) -> int:
    window = text[: limit + 1]
    for separator in ("\n\n", "\n", ". ", " "):
        position = window.rfind(separator, 0, limit)
        if position > limit // 3:  # do not leave a tiny first part
            return position + len(separator)
    return limit
