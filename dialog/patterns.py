"""Phrase patterns written by administrators, compiled to regular expressions.

A term is one or more word prefixes: «не приход» matches «не приходит» and
«не пришло» does not. A term starting with `=` matches whole words only («=пока» does not match
«показать»); one starting with `re:` is a raw regular expression.
Terms are matched against the corrected, lowercased words of a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dialog.normalize import clean, words


def compile_terms(terms: Sequence[str]) -> re.Pattern[str]:
    """One regex that finds any of the terms."""
    alternatives = []
    for term in terms:
        if term.startswith("re:"):
            alternatives.append(f"(?:{term[3:]})")
            continue
        exact = term.startswith("=")
        parts = words(clean(term.lstrip("=")))
        if parts:
            tail = r"(?!\w)" if exact else r"\w*"
            alternatives.append(r"\s+".join(re.escape(p) + tail for p in parts))
    if not alternatives:
        raise ValueError(f"no usable term in {list(terms)!r}")
    # the longest first: a phrase found inside a longer one («с днём» in «с днём России») must not
    # leave the rest of the longer one behind when the found phrase is cut out of a message
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")")


@dataclass(frozen=True, slots=True)
class Pattern:
    """Matches when every group finds one of its terms."""

    groups: tuple[re.Pattern[str], ...]

    @classmethod
    def from_groups(cls, groups: Sequence[Sequence[str]]) -> Pattern:
        return cls(tuple(compile_terms(g) for g in groups))

    def matches(self, text: str) -> bool:
        return all(g.search(text) for g in self.groups)


@dataclass(frozen=True, slots=True)
class Trigger:
    """Fires when one of the `when` patterns matches and none of the `unless` patterns does."""

    when: tuple[Pattern, ...]
    unless: tuple[Pattern, ...] = ()

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> Trigger:
        when = tuple(Pattern.from_groups(groups) for groups in entry["when"])
        if not when:
            raise ValueError("`when` lists no pattern")
        return cls(when, tuple(Pattern.from_groups(g) for g in entry.get("unless") or ()))

    def fires(self, text: str) -> bool:
        return any(p.matches(text) for p in self.when) and not self.blocked(text)

    def fires_alone(self, sentence: str) -> bool:
        """One sentence of a longer message matches, and no part of any `unless` pattern is in it:
        the other sentences' words neither help nor hide it."""
        touched = any(g.search(sentence) for p in self.unless for g in p.groups)
        return not touched and any(p.matches(sentence) for p in self.when)

    def blocked(self, text: str) -> bool:
        """An `unless` pattern matches: the rule stays out whatever else points to it."""
        return any(p.matches(text) for p in self.unless)
