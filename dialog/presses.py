"""What a pressed button or a ticket event reads as in a transcript: the words the citizen saw, not
the button's id («Регистрация и вход», not «cat:login»)."""

from __future__ import annotations

from collections.abc import Callable

from dialog import texts
from dialog.engine import CATEGORY_PREFIX, FEEDBACK_PREFIX, MENU, OPERATOR, RATE_PREFIX, STATUS, TOPIC_PREFIX
from dialog.intake import CANCEL, SKIP
from dialog.knowledge import KnowledgeBase

EVENT_PREFIX = "event:"  # a ticket event fed into the conversation (bots/updates.py), not a press
_EVENTS = {
    "resolved": "Обращение отмечено решённым",
    "closed": "Обращение закрыто",
}
_FIXED = {
    MENU: texts.BUTTON_MENU,
    OPERATOR: texts.BUTTON_OPERATOR,
    SKIP: texts.BUTTON_SKIP,
    CANCEL: texts.BUTTON_CANCEL,
    RATE_PREFIX + "skip": texts.BUTTON_SKIP,
    STATUS: "Статус обращения",
}


def is_event(payload: str | None) -> bool:
    return bool(payload) and str(payload).startswith(EVENT_PREFIX)


def event_sentence(payload: str) -> str:
    """«Обращение отмечено решённым» for «event:resolved»."""
    kind = payload.removeprefix(EVENT_PREFIX)
    return _EVENTS.get(kind, f"Событие обращения: {kind}")


def press_label(payload: str, knowledge: KnowledgeBase) -> str:
    """The label of the button that sent `payload`; the payload itself for a button we no longer
    know (a press on an old message after the knowledge base changed)."""
    if payload in _FIXED:
        return _FIXED[payload]
    prefix, _, rest = payload.partition(":")
    label = _BY_PREFIX.get(prefix + ":", _unknown)(rest, knowledge)
    return label or payload


def _topic(rest: str, knowledge: KnowledgeBase) -> str | None:
    topic = knowledge.topics.get(rest)
    return topic.title if topic else None


def _category(rest: str, knowledge: KnowledgeBase) -> str | None:
    category_id, _, page = rest.partition(":")
    category = knowledge.category(category_id)
    if category is None:
        return None
    return f"{category.title}, страница {page}" if page else category.title


def _feedback(rest: str, knowledge: KnowledgeBase) -> str:
    answer = texts.BUTTON_YES if rest.startswith("yes") else texts.BUTTON_NO
    return f"{texts.FEEDBACK_QUESTION} — {answer}"


def _unknown(rest: str, knowledge: KnowledgeBase) -> str | None:
    return None


_BY_PREFIX: dict[str, Callable[[str, KnowledgeBase], str | None]] = {
    TOPIC_PREFIX: _topic,
    CATEGORY_PREFIX: _category,
    FEEDBACK_PREFIX: _feedback,
    RATE_PREFIX: lambda rest, _: f"Оценка {rest}",
    STATUS + ":": lambda rest, _: _FIXED[STATUS],
}
