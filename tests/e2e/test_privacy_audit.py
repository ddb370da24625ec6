"""The access log: a supervisor opening a ticket's page with the citizen's data unmasked is logged;
a plain operator, who sees it masked, is not, nor are the page's live refreshes."""

from __future__ import annotations

from dialog.engine import ConversationEngine
from handoff.accounts import Role, hash_password
from tests.e2e.conftest import Backend, running
from tests.e2e.desk_helpers import CHAT, Clock, open_ticket
from tests.e2e.test_web_and_telegram_inbox import PASSWORD, web_settings
from tests.e2e.web_helpers import operator
from tests.fakes.telegram_api import FakeTelegram


async def test_a_supervisor_opening_a_ticket_unmasked_is_logged(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = web_settings(fake, backend)
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime:
        assert runtime.web_store is not None and runtime.privacy is not None
        store = runtime.web_store
        await store.add_account("boris", "Борис", Role.OPERATOR.value, hash_password(PASSWORD))
        await store.add_account("vera", "Вера", Role.SUPERVISOR.value, hash_password(PASSWORD))
        ticket = await open_ticket(fake, runtime)
        async with operator(url, "boris", PASSWORD) as plain:
            assert (await plain.get(f"/inbox/ticket/{ticket.id}"))[0] == 200
        async with operator(url, "vera", PASSWORD) as supervisor:
            assert (await supervisor.get(f"/inbox/ticket/{ticket.id}?fragment=1"))[0] == 200
            assert await runtime.privacy.accesses(None, None, 10) == []
            assert (await supervisor.get(f"/inbox/ticket/{ticket.id}"))[0] == 200
        [line] = await runtime.privacy.accesses("telegram", str(CHAT), 10)
        assert (line.action, line.actor, line.subject) == ("view", "inbox:vera", ticket.number)
