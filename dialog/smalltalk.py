"""Small talk: greetings, thanks, goodbyes and «ты бот?» get a short reply."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dialog.knowledge import read_yaml
from dialog.normalize import clean
from dialog.patterns import compile_terms
from dialog.stopwords import STOPWORDS

# Emoji-only messages that still say something.
_EMOJI_INTENTS = {
    "🙏": "thanks",
    "👍": "thanks",
    "❤": "thanks",
    "🤝": "thanks",
    "😘": "thanks",
    "👋": "greeting",
    "🙂": "acknowledgement",
    "😊": "acknowledgement",
    "☺": "acknowledgement",
    "😀": "acknowledgement",
    "😉": "acknowledgement",
    "👌": "acknowledgement",
    "⏳": "impatience",
    "⌛": "impatience",
    "🤖": "bot_identity",
    "🤔": "presence",
    "😂": "acknowledgement",
    "🤣": "acknowledgement",
    "😅": "acknowledgement",
    "😆": "acknowledgement",
    "😄": "acknowledgement",
    "😁": "acknowledgement",
    "🙈": "apology",
    "😍": "thanks",
    "🥰": "thanks",
    "🔥": "thanks",
    "💪": "thanks",
    "❓": "presence",
    "❔": "presence",
}


# Smileys made of brackets, «+» for yes: «)))», «+», «((»
_SYMBOLS_ONLY = re.compile(r"^[\s)(+:;=\-]+$")
_SYMBOL_INTENTS = {")": "acknowledgement", "+": "acknowledgement"}
# What a messenger or a copy-paste puts for a sticker or an animation: «[Стикер: котик]», «(GIF)»
_MEDIA_PLACEHOLDER = re.compile(
    r"^\s*[\[(<]\s*(стикер|sticker|gif|гиф|гифка|анимация|смайл|смайлик|эмодзи|emoji)\w*[^\])>]*[\])>]\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class SmalltalkIntent:
    id: str
    pattern: re.Pattern[str]
    reply: str
    # phrases that are small talk only when the message is nothing else: «извините» or «ну?»
    # alone is small talk, «извините, не приходит код» is a question
    alone: re.Pattern[str] | None = None

    def phrases(self) -> tuple[re.Pattern[str], ...]:
        return (self.pattern,) if self.alone is None else (self.pattern, self.alone)


class Smalltalk:
    def __init__(self, intents: list[SmalltalkIntent], fillers: frozenset[str]) -> None:
        self.intents = intents
        self.by_id = {i.id: i for i in intents}
        self._fillers = fillers | STOPWORDS

    def detect(self, text: str, words: tuple[str, ...]) -> SmalltalkIntent | None:
        """The intent of a message that is nothing but small talk, else None."""
        if not words:
            return self._emoji_intent(text)
        if _MEDIA_PLACEHOLDER.match(text):
            return self.by_id.get("acknowledgement")
        found: SmalltalkIntent | None = None
        rest = " ".join(words)
        for intent in self.intents:
            for pattern in intent.phrases():
                if pattern.search(rest):
                    found = found or intent
                    rest = pattern.sub(" ", rest)
        if found is None:
            return None
        leftover = [w for w in rest.split() if w not in self._fillers]
        return found if not leftover else None

    def mentioned(self, words: tuple[str, ...], alone: bool = False) -> SmalltalkIntent | None:
        """The first intent whose phrase the message contains, whatever else it says; with `alone`,
        its phrases that are small talk only when nothing else is asked count too."""
        rest = " ".join(words)
        return next((i for i in self.intents if any(p.search(rest) for p in self._phrases(i, alone))), None)

    def leftover(self, words: tuple[str, ...]) -> list[str]:
        """The words that are neither small talk nor filler."""
        return [w for w in self.remainder(words).split() if w not in self._fillers]

    @staticmethod
    def _phrases(intent: SmalltalkIntent, alone: bool) -> tuple[re.Pattern[str], ...]:
        return intent.phrases() if alone else (intent.pattern,)

    def remainder(self, words: tuple[str, ...]) -> str:
        """The message without its small-talk phrases, for the FAQ search."""
        rest = " ".join(words)
        for intent in self.intents:
            for pattern in intent.phrases():
                rest = pattern.sub(" ", rest)
        return " ".join(rest.split())

    def _emoji_intent(self, text: str) -> SmalltalkIntent | None:
        if _SYMBOLS_ONLY.match(text):
            found = next((i for s, i in _SYMBOL_INTENTS.items() if s in text), None)
            return self.by_id.get(found) if found else None
        for symbol, intent_id in _EMOJI_INTENTS.items():
            if symbol in text:
                return self.by_id.get(intent_id)
        return None


def load_smalltalk(path: Path) -> Smalltalk:
    data = read_yaml(path)
    intents = [
        SmalltalkIntent(
            str(name),
            compile_terms(spec["phrases"]),
            str(spec["reply"]).strip(),
            compile_terms(spec["alone"]) if spec.get("alone") else None,
        )
        for name, spec in data["intents"].items()
    ]
    fillers = frozenset(clean(str(w)) for w in data.get("fillers") or ())
    return Smalltalk(intents, fillers)
