"""The web inbox's tickets: the queue, a ticket's page, and what an operator does to a ticket there."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from dialog.ticket_talk import image_type
from dialog.tickets import Ticket
from handoff import web_pages
from handoff.accounts import may_act, sees_identification
from handoff.actions import Actor, OperatorActions
from handoff.canned import CannedReplies
from handoff.errors import IllegalTransition
from handoff.ports import TicketRepository
from handoff.texts import CLOSED_FOR_CITIZEN, HELD_BY
from handoff.web_guard import CSRF, FORM, SESSION, Form
from handoff.web_responses import back, html_response, page_response
from handoff.web_settings import InboxSettings
from storage.web import WebStore

logger = logging.getLogger("okno.handoff.web")

NOT_ALLOWED = "У вас нет прав на это действие: обращение уровня специалиста."
NOTE_SAVED = "Заметка сохранена."
SENT = "Отправлено гражданину."
EMPTY_REPLY = "Напишите текст ответа или приложите файл."
BAD_FILE = "Можно приложить только фото JPEG или PNG до {limit}."


class TicketPages:
    def __init__(
        self,
        tickets: TicketRepository,
        store: WebStore,  # the queue, transcripts, notes and operators' photos
        desk: OperatorActions,
        canned: CannedReplies,
        settings: InboxSettings,
        unmasked: Callable[[str, Ticket], Awaitable[None]] | None = None,  # logs who saw whose data
    ) -> None:
        self.unmasked = unmasked
        self.tickets = tickets
        self.store = store
        self.desk = desk
        self.canned = canned
        self.settings = settings

    async def queue(self, request: web.Request) -> web.StreamResponse:
        tab = request.query.get("tab", "open")
        statuses = next((s for key, _, s in web_pages.QUEUE_TABS if key == tab), None)
        if statuses is None:
            tab, statuses = "open", web_pages.QUEUE_TABS[0][2]
        level_text = request.query.get("level", "")
        level = int(level_text) if level_text in ("2", "3") else None
        category, categories = request.query.get("category", ""), self.settings.categories
        shown = web_pages.Shown(tab, level, category if category in categories else None)
        tickets = await self.store.tickets(statuses, level, shown.category)
        counts = await self.store.counts()
        now, situations = datetime.now(UTC), self.settings.situations
        body = web_pages.queue(shown, tickets, counts, now, situations, categories)
        return page_response(request, "Очередь", body, request[SESSION], request[CSRF])

    async def ticket(self, request: web.Request) -> web.StreamResponse:
        session, csrf = request[SESSION], request[CSRF]
        ticket = await self._ticket(request)
        allowed = may_act(session.role, ticket.level)
        masked = self.settings.mask_identification and not sees_identification(session.role)
        live = web_pages.ticket_view(
            ticket,
            self.settings.situations.get(ticket.rule, ticket.rule),
            await self.store.ticket_history(ticket, 200),
            await self.tickets.events(ticket.id),
            await self.store.notes(ticket.id),
            session,
            masked,
            allowed,
            csrf,
        )
        if request.query.get("fragment"):
            return html_response(live)
        if not masked and self.unmasked is not None:  # the page opened, not its live refreshes
            await self.unmasked(session.login, ticket)
        may_reply = allowed and not web_pages.held_by_other(ticket, session)  # taken over first
        forms = web_pages.reply_forms(ticket, self.canned.replies.values(), may_reply, csrf)
        return page_response(request, f"Обращение {ticket.number}", live + forms, session, csrf)

    async def act(self, request: web.Request) -> web.StreamResponse:
        session, form = request[SESSION], request[FORM]
        ticket = await self._ticket(request)
        action = request.match_info["action"]
        page = f"/inbox/ticket/{ticket.id}"
        actor = Actor(session.actor_id, session.name)
        if action == "note":
            text = str(form.get("text", "")).strip()[:2000]
            if text:
                await self.store.add_note(ticket.id, actor.user_id, actor.name, text)
            return back(NOTE_SAVED if text else EMPTY_REPLY, page)
        if not may_act(session.role, ticket.level):
            return back(NOT_ALLOWED, page)
        if action == "takeover":
            return back(await self.desk.take_over(actor, ticket), page)
        if action != "take" and web_pages.held_by_other(ticket, session):  # «take» says who has it
            return back(HELD_BY.format(name=ticket.assignee_name or ticket.assignee), page)
        if action == "reply":
            return back(await self._reply(ticket, actor, form), page)
        if action == "template":
            action = "tpl"
        try:
            answer = await self.desk.act(actor, ticket, action, str(form.get("template", "")))
        except IllegalTransition:
            answer = None
        logger.info("ticket %s: %s by %s in the web inbox", ticket.number, action, actor.user_id)
        return back(answer or "", page)

    async def _reply(self, ticket: Ticket, actor: Actor, form: Form) -> str:
        text = str(form.get("text", "")).strip()[:4000]
        files: tuple[dict[str, str], ...] = ()
        upload = form.get("file")
        if isinstance(upload, bytes) and upload:
            mime, policy = image_type(upload), self.settings.attachments
            if mime is None or len(upload) > policy.max_bytes:
                return BAD_FILE.format(limit=policy.limit)
            ref = await self.store.save_file(ticket.chat_id, str(form.get("file_name", "")), mime, upload)
            files = ({"kind": "photo", "ref": ref, "source": "web"},)
        if not text and not files:
            return EMPTY_REPLY
        sent = await self.desk.reply(actor, ticket, text, files)
        return SENT if sent else CLOSED_FOR_CITIZEN

    async def _ticket(self, request: web.Request) -> Ticket:
        ticket = await self.tickets.ticket(int(request.match_info["id"]))
        if ticket is None:
            raise web.HTTPNotFound(text="Такого обращения нет.")
        return ticket
