"""Whose ticket it is in the web inbox: an operator acts on a ticket a colleague has taken only
after taking it over (on the audit trail); a supervisor acts on any ticket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialog.engine import ConversationEngine
from dialog.tickets import Ticket
from handoff import texts
from handoff.web_tickets import SENT
from tests.e2e.web_helpers import Site, add_accounts, citizen, open_ticket, operator, serving

PASSWORD = "верный-пароль-42"
ACCOUNTS = {
    "anna": ("Анна Петрова", "operator"),
    "boris": ("Борис Орлов", "operator"),
    "sveta": ("Светлана Ким", "supervisor"),
}


@pytest.fixture
async def site(tmp_path: Path, engine: ConversationEngine) -> AsyncIterator[Site]:
    async with serving(tmp_path, engine) as running_site:
        await add_accounts(running_site, ACCOUNTS, PASSWORD)
        yield running_site


async def ticket_of(site: Site, number: str) -> Ticket:
    ticket = await site.runtime.handoff.store.by_number(number)
    assert ticket is not None
    return ticket


async def test_an_operator_cannot_act_on_a_colleagues_ticket_until_taking_it_over(site: Site) -> None:
    async with (
        citizen(site) as visitor,
        operator(site.url, "anna", PASSWORD) as anna,
        operator(site.url, "boris", PASSWORD) as boris,
    ):
        ticket = await ticket_of(site, await open_ticket(visitor))
        assert await anna.act(ticket, "take") == texts.YOU_TOOK.format(number=ticket.number)
        held = texts.HELD_BY.format(name="Анна Петрова")
        assert await boris.act(ticket, "reply", text="Это не моё обращение") == held
        assert await boris.act(ticket, "ask") == held
        assert await boris.act(ticket, "transfer") == held
        assert await boris.act(ticket, "resolve") == held
        still = await ticket_of(site, ticket.number or "")
        assert (still.status, still.level, still.assignee) == ("in_progress", ticket.level, "web:anna")
        _, page = await boris.get(f"/inbox/ticket/{ticket.id}")
        assert 'data-action="takeover"' in page and 'data-action="transfer"' not in page

        assert await boris.act(ticket, "takeover") == texts.YOU_TOOK_OVER.format(number=ticket.number)
        moved = await ticket_of(site, ticket.number or "")
        assert (moved.status, moved.assignee, moved.assignee_name) == (
            "in_progress",
            "web:boris",
            "Борис Орлов",
        )
        events = await site.runtime.handoff.store.events(ticket.id)
        note = texts.TAKEN_OVER_NOTE.format(previous="Анна Петрова", name="Борис Орлов")
        assert any(e.actor == "web:boris" and e.note == note for e in events)

        after = len(visitor.frames)
        assert await boris.act(ticket, "reply", text="Теперь обращением занимаюсь я.") == SENT
        await visitor.reply(after, "занимаюсь я")
        held = texts.HELD_BY.format(name="Борис Орлов")
        assert await anna.act(ticket, "reply", text="А я?") == held  # now it is Anna's turn to ask


async def test_a_supervisor_acts_on_any_ticket(site: Site) -> None:
    async with (
        citizen(site) as visitor,
        operator(site.url, "anna", PASSWORD) as anna,
        operator(site.url, "sveta", PASSWORD) as sveta,
    ):
        ticket = await ticket_of(site, await open_ticket(visitor))
        await anna.act(ticket, "take")
        after = len(visitor.frames)
        assert await sveta.act(ticket, "reply", text="Подключилась руководитель.") == SENT
        await visitor.reply(after, "руководитель")
        _, page = await sveta.get(f"/inbox/ticket/{ticket.id}")
        assert 'data-action="takeover"' not in page and 'data-action="resolve"' in page
    assert (await ticket_of(site, ticket.number or "")).assignee == "web:anna"  # still Anna's
