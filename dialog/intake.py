"""The identification dialogue before a handoff: one question at a time, each one skippable.

A callback request asks two things instead: the phone to call (needed: without it nobody can
call) and a convenient time (skippable, in the citizen's own words).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dialog import identification, texts
from dialog.messages import Button, OpenTicket, Reply, TicketKind
from dialog.normalize import clean
from dialog.state import ConversationState

SKIP = "intake:skip"
CANCEL = "intake:cancel"
STEPS = ("full_name", "snils", "phone", "application_number", "description")
CALLBACK_STEPS = ("callback_phone", "callback_time")
CHECKS: dict[str, Callable[[str], str | None]] = {
    "full_name": identification.full_name,
    "snils": identification.snils,
    "phone": identification.phone,
    "application_number": identification.application_number,
}
_SKIP_WORDS = {
    "пропустить",
    "пропуск",
    "пропусти",
    "нет",
    "не знаю",
    "нету",
    "не помню",
    "-",
    "—",
    "нет номера",
}
_CANCEL_WORDS = {"отмена", "отменить", "/cancel", "не надо", "не нужно", "/menu", "/start", "меню"}
MIN_DESCRIPTION_WORDS = 3
CALLBACK_TIME_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Step:
    """What one intake turn produces."""

    replies: tuple[Reply, ...]
    state: ConversationState
    ticket: OpenTicket | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """What the bot hands to people: the rule that fired, and where the problem lies."""

    rule: str
    level: int
    priority: int
    reply: str
    reason: str
    kind: TicketKind = TicketKind.QUESTION
    category: str | None = None
    category_title: str | None = None


def start(state: ConversationState, request: Request) -> Step:
    """Begin collecting what the operator needs; questions answered before are not asked again
    (a callback asks for the number to call every time: it may be another phone)."""
    reason = request.reason
    description = reason if len(reason.split()) >= MIN_DESCRIPTION_WORDS else ""
    intake = {
        "rule": request.rule,
        "level": request.level,
        "priority": request.priority,
        "description": description,
        "step": None,
        "kind": request.kind.value,
        "category": request.category,
        "category_title": request.category_title,
    }
    state = state.evolve(intake=intake, last_topic=None, offered=(), fallbacks=0, not_helped=0)
    first = _next_step(state)
    intro = [request.reply, texts.INTAKE_INTRO] if first in CHECKS else [request.reply]
    return _ask_or_finish(state, intro)


def answer(state: ConversationState, text: str, payload: str | None) -> Step:
    """The citizen's answer to the current question: recorded, re-asked with a hint, skipped or cancelled."""
    step = str((state.intake or {}).get("step"))
    command = " ".join(clean(text).split()).strip(" .!")
    if payload == CANCEL or (payload is None and command in _CANCEL_WORDS):
        return Step((Reply(texts.INTAKE_CANCELLED),), state.evolve(intake=None))
    skipped = payload == SKIP or (payload is None and command in _SKIP_WORDS)
    if payload is not None and not skipped:  # another button while a question is open: ask again
        return _ask_or_finish(state, [])
    if not skipped and not text.strip():  # a sticker or a photo is not an answer
        return _ask_or_finish(state, [texts.INTAKE_TEXT_PLEASE])
    value = "" if skipped else text.strip()
    if step == "description":
        return _described(state, value)
    if step in CALLBACK_STEPS:
        return _callback_answer(state, step, value)
    return _identified(state, step, value)


def _identified(state: ConversationState, step: str, value: str) -> Step:
    """One identification answer, checked and normalized; a wrong one is asked again with a hint."""
    check = CHECKS.get(step)
    if check is None:  # a state from an older version: start the questions over
        return _ask_or_finish(state, [])
    if value:
        normalized = check(value)
        if normalized is None:
            return _ask_or_finish(state, [identification.HINTS[step]])
        value = normalized
    return _ask_or_finish(state.evolve(identity={**state.identity, step: value}), [])


def _callback_answer(state: ConversationState, step: str, value: str) -> Step:
    """The number to call (checked like the identification phone, and not skippable), or the time."""
    intake = dict(state.intake or {})
    if step == "callback_time":
        intake["callback_time"] = " ".join(value.split())[:CALLBACK_TIME_LIMIT]
        return _ask_or_finish(state.evolve(intake=intake), [])
    phone = identification.phone(value) if value else None
    if phone is None:
        hint = identification.HINTS["phone"] if value else texts.CALLBACK_PHONE_NEEDED
        return _ask_or_finish(state, [hint])
    intake["callback_phone"] = phone
    return _ask_or_finish(state.evolve(intake=intake, identity={**state.identity, "phone": phone}), [])


def _described(state: ConversationState, value: str) -> Step:
    if value and len(value.split()) < MIN_DESCRIPTION_WORDS:
        return _ask_or_finish(state, [texts.INTAKE_MORE_DETAIL])
    intake = dict(state.intake or {}) | {"description": value[:1000], "described": True}
    return _ask_or_finish(state.evolve(intake=intake), [])


def _is_callback(intake: dict[str, Any]) -> bool:
    return intake.get("kind") == TicketKind.CALLBACK.value


def _next_step(state: ConversationState) -> str | None:
    intake = state.intake or {}
    if _is_callback(intake):
        return next((step for step in CALLBACK_STEPS if step not in intake), None)
    for step in STEPS:
        if step == "description":
            if not intake.get("description") and not intake.get("described"):
                return step
        elif step not in state.identity:
            return step
    return None


def _ticket(state: ConversationState, intake: dict[str, Any]) -> OpenTicket:
    callback = _is_callback(intake)
    return OpenTicket(
        rule=str(intake["rule"]),
        level=int(intake["level"]),
        priority=int(intake["priority"]),
        identification=tuple((k, v) for k, v in state.identity.items() if v),
        description=str(intake.get("description") or ""),
        kind=TicketKind.CALLBACK if callback else TicketKind.QUESTION,
        callback_time=str(intake.get("callback_time") or "") if callback else "",
        category=_optional(intake.get("category")),
        category_title=_optional(intake.get("category_title")),
    )


def _optional(value: object) -> str | None:
    return str(value) if value else None


def _ask_or_finish(state: ConversationState, preface: list[str]) -> Step:
    intake = dict(state.intake or {})
    step = _next_step(state)
    if step is None:
        ticket = _ticket(state, intake)
        replies = (Reply("\n\n".join(preface)),) if preface else ()
        return Step(replies, state.evolve(intake=None, handed_off=ticket.rule), ticket)
    buttons: tuple[Button, ...] = (Button(SKIP, texts.BUTTON_SKIP), Button(CANCEL, texts.BUTTON_CANCEL))
    if step == "callback_phone":  # the one question that cannot be skipped
        buttons = buttons[1:]
    text = "\n\n".join([*preface, texts.INTAKE_QUESTIONS[step]])
    return Step((Reply(text, buttons),), state.evolve(intake=intake | {"step": step}))
