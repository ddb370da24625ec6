"""The web inbox's HTML: every value is escaped here, so nothing a citizen wrote can become markup."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from dialog.personal_data import mask_answer, mask_text
from dialog.presses import event_sentence, is_event
from dialog.tickets import Level, Status, Ticket
from handoff.accounts import Role, Session
from handoff.canned import CannedReply
from handoff.cards import (
    ACTIONS,
    CALLBACK,
    CHANNELS,
    callback_phone,
    callback_rows,
    card_buttons,
    citizen_name,
    identity_rows,
    is_callback,
)
from handoff.tracking import MSK
from storage.db import as_utc
from storage.file_links import LOCAL_FILE
from storage.records import EventRecord
from storage.web import HistoryItem, Note

QUEUE_TABS = (
    ("open", "Открытые", (Status.NEW, Status.IN_PROGRESS, Status.NEEDS_INFO)),
    ("new", "Новые", (Status.NEW,)),
    ("in_progress", "В работе", (Status.IN_PROGRESS,)),
    ("needs_info", "Уточнение", (Status.NEEDS_INFO,)),
    ("resolved", "Решённые", (Status.RESOLVED,)),
    ("closed", "Закрытые", (Status.CLOSED,)),
)
QUEUE_COLUMNS = ("Номер", "Статус", "Уровень", "Канал", "Направление", "Ситуация", "Ждёт", "Исполнитель")


PLAYERS = {  # a recording's kind: its player and how the page names it
    "voice": ("audio", "Голосовое сообщение"),
    "audio": ("audio", "Аудиофайл"),
    "video_note": ("video", "Видеосообщение"),
}

# a window in a frame, as a data URL: no file to serve, and no browser's request for /favicon.ico fails
FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='3' fill='%231f5fa8'/%3E"
    "%3Crect x='4' y='4' width='8' height='8' rx='1' fill='white'/%3E%3C/svg%3E"
)


def page(title: str, body: str, session: Session | None = None, csrf: str = "") -> str:
    nav = ""
    if session is not None:
        stats = '<a href="/inbox/stats">Статистика</a>' if session.role is Role.SUPERVISOR else ""
        nav = (
            f'<nav aria-label="Разделы"><a href="/inbox">Очередь</a>{stats}'
            f'<span class="who">{escape(session.name)} · {escape(session.role.label)}</span>'
            f'<form method="post" action="/inbox/logout">{_csrf(csrf)}'
            '<button type="submit" class="link">Выйти</button></form></nav>'
        )
    return (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} — Окно</title>"
        '<link rel="stylesheet" href="/inbox/static/inbox.css">'
        f'<link rel="icon" href="{FAVICON}">'
        '<script src="/inbox/static/inbox.js" defer></script></head>'
        f'<body><header><a class="brand" href="/inbox">Окно · операторская</a>{nav}</header>'
        f"<main>{body}</main></body></html>"
    )


def login_form(csrf: str, error: str = "", login: str = "") -> str:
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        '<section class="login"><h1>Вход для операторов</h1>'
        f'{alert}<form method="post" action="/inbox/login">{_csrf(csrf)}'
        '<label for="login">Логин</label>'
        f'<input id="login" name="login" autocomplete="username" required value="{escape(login)}">'
        '<label for="password">Пароль</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required>'
        '<button type="submit">Войти</button></form></section>'
    )


def name_form(csrf: str, name: str = "", error: str = "") -> str:
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        '<section class="login"><h1>Как вас представлять?</h1>'
        "<p>Это имя увидят граждане («занимается оператор Анна Петрова») и коллеги.</p>"
        f'{alert}<form method="post" action="/inbox/name">{_csrf(csrf)}'
        '<label for="name">Имя и фамилия</label>'
        f'<input id="name" name="name" autocomplete="name" required maxlength="64" value="{escape(name)}">'
        '<button type="submit">Сохранить</button></form></section>'
    )


@dataclass(frozen=True, slots=True)
class Shown:
    """Which tickets the queue shows: a status tab, a level, a category (an expertise)."""

    tab: str
    level: int | None = None
    category: str | None = None


def queue(
    shown: Shown,
    tickets: Sequence[Ticket],
    counts: dict[str, int],
    now: datetime,
    situations: Mapping[str, str],
    categories: Mapping[str, str] | None = None,
) -> str:
    tab, level = shown.tab, shown.level
    tabs = []
    for key, label, statuses in QUEUE_TABS:
        count = sum(counts.get(s, 0) for s in statuses)
        current = ' aria-current="page"' if key == tab else ""
        tabs.append(f'<a href="/inbox?tab={key}"{current}>{label} <span class="count">{count}</span></a>')
    levels = "".join(
        f'<a href="/inbox?tab={tab}&amp;level={int(value)}"'
        f"{' aria-current=page' if level == value else ''}>{value.label}</a>"
        for value in (Level.OPERATOR, Level.SPECIALIST)
    )
    rows = "".join(_queue_row(t, now, situations.get(t.rule, t.rule)) for t in tickets) or (
        '<tr><td colspan="8" class="empty">Обращений нет.</td></tr>'
    )
    head = "".join(f'<th scope="col">{column}</th>' for column in QUEUE_COLUMNS)
    return (
        '<div id="live" data-live>'
        f'<h1>Обращения</h1><nav class="tabs" aria-label="Статус">{"".join(tabs)}</nav>'
        '<nav class="tabs levels" aria-label="Уровень">'
        f'<a href="/inbox?tab={tab}">все уровни</a>{levels}</nav>'
        f"{_category_filter(shown, categories or {})}"
        f'<table class="queue"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _category_filter(shown: Shown, categories: Mapping[str, str]) -> str:
    """Links to one expertise's tickets: «Регистрация и вход», «Заявления и статусы»…"""
    if not categories:
        return ""
    base = f"/inbox?tab={shown.tab}" + (f"&amp;level={shown.level}" if shown.level else "")
    links = "".join(
        f'<a href="{base}&amp;category={escape(key)}"'
        f"{' aria-current=page' if key == shown.category else ''}>{escape(title)}</a>"
        for key, title in categories.items()
    )
    return (
        f'<nav class="tabs levels" aria-label="Направление"><a href="{base}">все направления</a>{links}</nav>'
    )


def _queue_row(ticket: Ticket, now: datetime, situation: str) -> str:
    waited = _since(ticket.opened_at if ticket.status == Status.NEW else ticket.status_changed_at, now)
    number = escape(ticket.number or "")
    kind = " callback" if is_callback(ticket) else ""
    if is_callback(ticket):  # what to do at a glance: whom to call, and when it suits them
        situation = f"{CALLBACK}: {callback_phone(ticket)}, удобное время — {ticket.callback_time or 'любое'}"
    cells = (
        f'<a href="/inbox/ticket/{ticket.id}">{number}</a>',
        escape(ticket.status.label),
        str(ticket.level),
        escape(CHANNELS.get(ticket.channel, ticket.channel)),
        escape(ticket.category_title or "—"),
        escape(situation),
        waited,
        escape(ticket.assignee_name or "—"),
    )
    # on a phone each row is a card, and each value shows its column's name (data-label, CSS)
    labelled = "".join(f'<td data-label="{c}">{v}</td>' for c, v in zip(QUEUE_COLUMNS, cells, strict=True))
    return f'<tr class="status-{escape(ticket.status)}{kind}" data-ticket="{number}">{labelled}</tr>'


def ticket_view(
    ticket: Ticket,
    situation: str,
    history: Sequence[HistoryItem],
    events: Sequence[EventRecord],
    notes: Sequence[Note],
    session: Session,
    masked: bool,
    allowed: bool,
    csrf: str,
) -> str:
    # a plain operator sees personal data masked wherever a citizen (or a colleague) wrote it
    hidden = {str(k): str(v) for k, v in (ticket.identification or {}).items()} if masked else None
    shown = [item for item in history if item.text != "/start"]
    changes = "".join(_event(e, ticket.rule, situation) for e in events)
    return (
        f'<div id="live" data-live><h1>Обращение № {escape(ticket.number or "")}</h1>'
        f'<div class="ticket">{_card(ticket, situation, masked)}'
        f"{_actions(ticket, allowed, csrf, held_by_other(ticket, session))}</div>"
        f'<div class="columns"><section aria-labelledby="tr"><h2 id="tr">Переписка</h2>'
        f'<ol class="transcript">{"".join(_transcript_item(i, hidden, ticket.id) for i in shown)}'
        "</ol></section>"
        f'<aside><h2>Заметки</h2><ul class="notes">{_notes(notes, masked)}</ul>'
        f'<h2>История</h2><ul class="events">{changes}</ul></aside></div></div>'
    )


def reply_forms(ticket: Ticket, canned: Iterable[CannedReply], allowed: bool, csrf: str) -> str:
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        return '<p class="muted">Обращение закрыто для ответов.</p>'
    options = "".join(f'<option value="{escape(c.id)}">{escape(c.title)}</option>' for c in canned)
    disabled = "" if allowed else " disabled"
    base = f"/inbox/ticket/{ticket.id}"
    return (
        '<section class="reply" aria-label="Ответ"><h2>Ответ гражданину</h2>'
        f'<form method="post" action="{base}/reply" enctype="multipart/form-data">{_csrf(csrf)}'
        '<label for="reply-text">Сообщение</label>'
        f'<textarea id="reply-text" name="text" rows="4" maxlength="4000"{disabled}></textarea>'
        '<label for="reply-file">Файл (фото JPEG/PNG до 2 МБ)</label>'
        f'<input id="reply-file" name="file" type="file" accept="image/jpeg,image/png"{disabled}>'
        f'<button type="submit" id="reply-send"{disabled}>Отправить</button></form>'
        f'<form method="post" action="{base}/template" class="inline">{_csrf(csrf)}'
        '<label for="template">Шаблон</label>'
        f'<select id="template" name="template"{disabled}>{options}</select>'
        f'<button type="submit"{disabled}>Отправить шаблон</button></form>'
        f'<form method="post" action="{base}/note">{_csrf(csrf)}'
        '<label for="note-text">Заметка (видят только сотрудники)</label>'
        '<textarea id="note-text" name="text" rows="2" maxlength="2000" required></textarea>'
        '<button type="submit">Сохранить заметку</button></form></section>'
    )


def _card(ticket: Ticket, situation: str, masked: bool) -> str:
    status, level = ticket.status, Level(ticket.level)
    rows = [("Тип", CALLBACK)] if is_callback(ticket) else []
    rows += callback_rows(ticket)
    rows += [
        ("Статус", status.label),
        ("Уровень", level.label),
        ("Канал", CHANNELS.get(ticket.channel, ticket.channel)),
        ("Гражданин", citizen_name(ticket, masked)),
        ("Ситуация", situation or ticket.rule),
        ("Направление", ticket.category_title or "общее"),
        ("Исполнитель", ticket.assignee_name or "не назначен"),
    ]
    rows += identity_rows(ticket, masked)
    shown: Callable[[str], str] = mask_text if masked else str
    if ticket.description:
        rows.append(("Суть", shown(ticket.description)))
    if ticket.rating:
        comment = f": {shown(ticket.rating_comment)}" if ticket.rating_comment else ""
        rows.append(("Оценка", f"{ticket.rating} из 5{comment}"))
    cells = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return f'<dl class="card">{cells}</dl>'


def held_by_other(ticket: Ticket, session: Session) -> bool:
    """A colleague works on the ticket: a plain operator or specialist takes it over before acting;
    a supervisor acts on any ticket."""
    mine = ticket.assignee in (None, session.actor_id)
    return (
        not mine
        and ticket.status in (Status.IN_PROGRESS, Status.NEEDS_INFO)
        and session.role is not Role.SUPERVISOR
    )


def _actions(ticket: Ticket, allowed: bool, csrf: str, held: bool = False) -> str:
    if not allowed:
        return (
            '<p class="muted">Это обращение уровня специалиста: '
            "действовать может специалист или руководитель.</p>"
        )
    if held:
        return (
            f'<p class="muted">Обращением занимается {escape(ticket.assignee_name or "коллега")}.</p>'
            f'<div class="actions"><form method="post" action="/inbox/ticket/{ticket.id}/takeover">'
            f'{_csrf(csrf)}<button type="submit" data-action="takeover">Перехватить</button></form></div>'
        )
    forms = []
    for button in card_buttons(ticket):
        action = button.id.partition(":")[0]
        if action == "templates":
            continue  # the web inbox has its own template picker under the reply box
        forms.append(
            f'<form method="post" action="/inbox/ticket/{ticket.id}/{action}">{_csrf(csrf)}'
            f'<button type="submit" data-action="{action}">{escape(ACTIONS[action])}</button></form>'
        )
    return f'<div class="actions">{"".join(forms)}</div>'


def _transcript_item(item: HistoryItem, hidden: dict[str, str] | None, ticket_id: int) -> str:
    """One message; `hidden` (None: shown whole) is the identification a citizen's words are masked by."""
    who = "Гражданин" if item.direction == "in" else ("Оператор" if item.outcome == "operator" else "Бот")
    if item.via:  # another chat of the citizen, linked to the ticket by a repeated request
        who += f" ({CHANNELS.get(item.via, item.via)})"
    css = "in" if item.direction == "in" else ("operator" if item.outcome == "operator" else "bot")
    files = _files(item, ticket_id)
    citizens = hidden is not None and item.direction == "in"
    text = escape(mask_answer(item.text, hidden) if citizens and hidden is not None else item.text)
    if is_event(item.payload):  # what happened to the ticket, not something the citizen wrote
        sentence = escape(event_sentence(str(item.payload)))
        return (
            f'<li class="msg event"><time>{_clock(item.at)}</time> <p class="text muted">{sentence}</p></li>'
        )
    if item.payload and item.direction == "in":
        text = f'<span class="muted">нажата кнопка «{escape(item.text or item.payload)}»</span>'
    return (
        f'<li class="msg {css}"><span class="who">{who}</span> <time>{_clock(item.at)}</time>'
        f'<p class="text">{text}</p>{" ".join(files)}</li>'
    )


def _files(item: HistoryItem, ticket_id: int) -> list[str]:
    """The message's files: a recording as a player, a photo or document as a link."""
    files = []
    for index, attachment in enumerate(item.attachments):
        ref = str(attachment.get("ref") or "")
        if ref and str(attachment.get("kind")) in PLAYERS:
            files.append(
                _player(
                    attachment, recording_url(ticket_id, item.id, index, attachment), f"m{item.id}-{index}"
                )
            )
        elif ref.startswith((LOCAL_FILE, "https://", "http://")):  # a Telegram file id cannot be opened here
            name = escape(str(attachment.get("name") or "файл"))
            url = escape(str(attachment.get("url") or ref))
            files.append(f'<a href="{url}" target="_blank" rel="noopener noreferrer">{name}</a>')
        elif ref:
            files.append('<span class="muted">файл (в Telegram)</span>')
    media = item.media or {}
    if media.get("ref") and media.get("source", "web") == "web":
        files.append(
            f'<a href="{escape(str(media.get("url") or ""))}" target="_blank" rel="noopener">файл</a>'
        )
    return files


def recording_url(ticket_id: int, message_id: int, index: int, attachment: dict[str, Any]) -> str:
    """Where the page plays a recording: the web chat serves its own (by the signed link the store
    gave it); one in a messenger is fetched from there by the inbox, for signed-in staff only."""
    if str(attachment.get("ref") or "").startswith(LOCAL_FILE):
        return str(attachment.get("url") or "")
    return f"/inbox/ticket/{ticket_id}/files/{message_id}/{index}"


def _player(attachment: dict[str, object], url: str, key: str) -> str:
    """A player that loads nothing until pressed (a messenger's file is fetched for each play), and
    says what it is and how long it plays."""
    kind = str(attachment.get("kind"))
    tag, label = PLAYERS[kind]
    duration = attachment.get("duration")
    if isinstance(duration, int) and duration >= 0:
        label += f" · {duration // 60}:{duration % 60:02d}"
    return (
        f'<figure class="recording"><{tag} controls preload="none" src="{escape(url)}" '
        f'data-media="{key}"></{tag}><figcaption>{escape(label)}</figcaption></figure>'
    )


def _notes(notes: Sequence[Note], masked: bool) -> str:
    """Staff notes; a colleague may copy a citizen's СНИЛС into one, so a plain operator sees it masked."""
    if not notes:
        return '<li class="muted">Заметок нет.</li>'
    return "".join(
        f'<li><span class="who">{escape(n.author_name)}</span> <time>{_clock(n.at)}</time>'
        f'<p class="text">{escape(mask_text(n.text) if masked else n.text)}</p></li>'
        for n in notes
    )


_ACTORS = {"bot": "Бот", "citizen": "Гражданин"}


def _event(event: EventRecord, rule: str, situation: str) -> str:
    moved = f"{Status(event.before).label} → " if event.before else ""
    to = Status(event.after).label if event.after else ""
    who = event.actor_name or _ACTORS.get(event.actor, event.actor)
    said = situation if event.note == rule and situation else event.note  # the situation, not its id
    note = f" ({escape(said)})" if said else ""
    return f"<li><time>{_clock(event.at)}</time> {escape(who)}: {escape(moved + to)}{note}</li>"


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def _clock(moment: datetime | None) -> str:
    return f"{as_utc(moment).astimezone(MSK):%d.%m %H:%M}" if moment else ""


def _since(moment: datetime, now: datetime) -> str:
    minutes = max(0, int((now - moment).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} мин"
    hours, rest = divmod(minutes, 60)
    return f"{hours} ч {rest:02d} мин" if hours < 48 else f"{hours // 24} дн"
