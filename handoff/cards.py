"""What operators see: a ticket's topic name, its card with buttons, and the lines posted in its topic."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from dialog.identification import display_phone, mask
from dialog.messages import Button, TicketKind
from dialog.personal_data import mask_answer, mask_text
from dialog.tickets import Level, Status, Ticket

MSK = ZoneInfo("Europe/Moscow")
CARD_LIMIT = 4000
TOPIC_NAME_LIMIT = 128
CHANNELS = {"telegram": "Telegram", "vk": "ВКонтакте", "max": "MAX", "web": "веб-чат", "test": "тест"}
IDENTITY_LABELS = {
    "full_name": "ФИО",
    "snils": "СНИЛС",
    "phone": "Телефон",
    "application_number": "Номер заявления",
}
ACTIONS = {
    "take": "Взять",
    "transfer": "Передать специалисту",
    "ask": "Требуется уточнение",
    "resolve": "Решено",
    "templates": "Шаблоны",
}
_BUTTONS_BY_STATUS = {
    Status.NEW: ("take", "transfer", "templates"),
    Status.IN_PROGRESS: ("transfer", "ask", "resolve", "templates"),
    Status.NEEDS_INFO: ("resolve", "templates"),
    Status.RESOLVED: (),
    Status.CLOSED: (),
}


CALLBACK = "📞 Обратный звонок"


def is_callback(ticket: Ticket) -> bool:
    return ticket.kind == TicketKind.CALLBACK.value


def callback_phone(ticket: Ticket) -> str:
    """The number to call, in full: calling it is the whole job, so no masking hides it."""
    phone = ticket.phone or str((ticket.identification or {}).get("phone") or "")
    return display_phone(phone) if phone else "не указан"


def callback_rows(ticket: Ticket) -> list[tuple[str, str]]:
    """What a callback's card and inbox row show first: the number and the convenient time."""
    if not is_callback(ticket):
        return []
    return [("Позвонить", callback_phone(ticket)), ("Удобное время", ticket.callback_time or "не указано")]


def topic_name(ticket: Ticket, situation: str, masked: bool = True) -> str:
    """«10427-3 · в работе · отказ без объяснения причин», «10428-1 · новое · 📞 Обратный звонок»."""
    status = ticket.status
    # a question to the citizen and the answer flip a ticket back and forth: the card shows that,
    # the topic list is not renamed for it (each rename is a post the group's limit pays for)
    shown = Status.IN_PROGRESS if status is Status.NEEDS_INFO else status
    what = CALLBACK if is_callback(ticket) else situation or ticket.rule
    what = mask_text(what) if masked else what  # a topic list is seen by the whole group
    name = f"{ticket.number} · {shown.label} · {what}"
    return name if len(name) <= TOPIC_NAME_LIMIT else name[: TOPIC_NAME_LIMIT - 1] + "…"


def card_buttons(ticket: Ticket) -> tuple[Button, ...]:
    actions = _BUTTONS_BY_STATUS[ticket.status]
    if ticket.level >= Level.SPECIALIST:
        actions = tuple(a for a in actions if a != "transfer")
    return tuple(Button(f"{action}:{ticket.id}", ACTIONS[action]) for action in actions)


FULL_NAME = "full_name"


def citizen_name(ticket: Ticket, masked: bool) -> str:
    """The ФИО the citizen gave (shortened for operators), else the messenger's name for them."""
    full_name = str((ticket.identification or {}).get(FULL_NAME) or "")
    if full_name:
        return mask(FULL_NAME, full_name) if masked else full_name
    return ticket.citizen_name or "имя не указано"


def identity_rows(ticket: Ticket, masked: bool) -> list[tuple[str, str]]:
    """What the citizen told for identification, shortened for operators; the ФИО is not among them:
    it names the citizen (`citizen_name`)."""
    shown_in_full = {FULL_NAME, "phone"} if is_callback(ticket) else {FULL_NAME}
    return [
        (IDENTITY_LABELS.get(kind, kind), mask(kind, str(value)) if masked else str(value))
        for kind, value in (ticket.identification or {}).items()
        if kind not in shown_in_full
    ]


def card_text(ticket: Ticket, situation: str, transcript: Sequence[tuple[str, str]], masked: bool) -> str:
    status, level = ticket.status, Level(ticket.level)
    lines = [CALLBACK] if is_callback(ticket) else []
    lines += [f"{label}: {value}" for label, value in callback_rows(ticket)]
    lines += [
        f"Обращение № {ticket.number} · {status.label} · уровень {level.label}",
        f"Канал: {CHANNELS.get(ticket.channel, ticket.channel)}",
        f"Гражданин: {citizen_name(ticket, masked)}",
    ]
    lines += [f"{label}: {value}" for label, value in identity_rows(ticket, masked)]
    if ticket.category_title:
        lines.append(f"Направление: {ticket.category_title}")
    lines.append(f"Причина передачи: {situation or ticket.rule}")
    if ticket.description:
        lines.append(f"Описание: {mask_text(ticket.description) if masked else ticket.description}")
    lines.append(f"Открыто: {_clock(ticket.opened_at)}")
    if ticket.assignee_name:
        lines.append(f"Ведёт: {ticket.assignee_name}")
    if ticket.reopen_count:
        lines.append(f"Открыто повторно: {ticket.reopen_count} раз(а)")
    if ticket.rating:
        lines.append(
            f"Оценка гражданина: {ticket.rating} из 5"
            + (f" — {ticket.rating_comment}" if ticket.rating_comment else "")
        )
    head = "\n".join(lines)
    if masked:  # the transcript must not give away what the card hides; the bot's own words stay
        hidden = {str(k): str(v) for k, v in (ticket.identification or {}).items()}
        transcript = [(d, mask_answer(t, hidden) if d == "in" else t) for d, t in transcript]
    return _with_transcript(head, transcript)


def _with_transcript(head: str, transcript: Sequence[tuple[str, str]]) -> str:
    """The transcript's newest lines that fit under the card limit."""
    lines: list[str] = []
    budget = CARD_LIMIT - len(head) - 40
    for direction, text in reversed(transcript):
        if direction == "press":
            line = f"Гражданин нажал «{_short(text, 300)}»"
        else:
            line = f"{'Гражданин' if direction == 'in' else 'Бот'}: {_short(text, 300)}"
        if budget - len(line) - 1 < 0:
            break
        budget -= len(line) + 1
        lines.insert(0, line)
    if not lines:
        return head
    return head + "\n\nПереписка с ботом:\n" + "\n".join(lines)


def citizen_post(text: str, via: str | None = None, masked: bool = True) -> str:
    """What the citizen wrote, for the topic (personal data masked when the group sees it masked);
    `via` names the other chat it came from."""
    who = f"Гражданин ({CHANNELS.get(via, via)})" if via else "Гражданин"
    text = mask_text(text) if masked else text
    return f"👤 {who}: {text}" if text else f"👤 {who} прислал файл"


def system_post(text: str) -> str:
    return f"ℹ️ {text}"


def _clock(moment: datetime) -> str:
    return moment.astimezone(MSK).strftime("%d.%m.%Y %H:%M МСК")  # a ticket's times are aware


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
