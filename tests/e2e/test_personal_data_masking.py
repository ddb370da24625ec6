"""Personal data a citizen writes within other words is masked for those who must not see it whole:
plain operators in the web inbox, and the operators' Telegram group (cards, topics, relayed messages)."""

from __future__ import annotations

import html

from dialog.engine import ConversationEngine
from handoff.accounts import Role, hash_password
from tests.e2e.conftest import Backend, running
from tests.e2e.desk_helpers import CHAT, Clock, card, in_desk, open_ticket
from tests.e2e.test_web_and_telegram_inbox import PASSWORD, page_shows, ticket_page, web_settings
from tests.e2e.web_helpers import card_of, operator
from tests.fakes.telegram_api import FakeTelegram

REVIEW = "не принимают мой СНИЛС 11223344595, звоните на 89991234567"
TRIGGER = f"отказали в услуге без объяснения причин, {REVIEW}"
MASKED = "не принимают мой СНИЛС ***-***-445 95, звоните на +7 *** ***-**-67"
WHOLE = ("11223344595", "89991234567")
PASSPORT, PASSPORT_MASKED = "и паспорт 4512 345678 тоже", "и паспорт ** ** ***678 тоже"


def _whole_in(text: str) -> list[str]:
    return [value for value in WHOLE if value in text]


async def test_a_plain_operator_sees_personal_data_masked_and_a_supervisor_whole(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = web_settings(fake, backend)
    url = f"http://127.0.0.1:{settings.web_port}"
    async with running(settings, engine, clock=Clock()) as runtime:
        assert runtime.web_store is not None
        store = runtime.web_store
        await store.add_account("boris", "Борис", Role.OPERATOR.value, hash_password(PASSWORD))
        await store.add_account("vera", "Вера", Role.SUPERVISOR.value, hash_password(PASSWORD))
        ticket = await open_ticket(fake, runtime, trigger=TRIGGER)
        fake.message_update(CHAT, PASSPORT)  # relayed to the ticket's topic
        await fake.wait_for(lambda f: any(PASSPORT_MASKED in str(c.params.get("text")) for c in in_desk(f)))

        # the Telegram group: the card (its description and transcript), the topic and the posts
        text = card(fake, ticket)["text"]
        assert f"Описание: {TRIGGER.replace(REVIEW, MASKED)}" in text
        assert f"Гражданин: {TRIGGER.replace(REVIEW, MASKED)}" in text  # the transcript's line
        assert _whole_in(text) == []
        assert _whole_in(fake.topics[ticket.thread_id]["name"]) == []
        posted = " ".join(str(c.params.get("text")) for c in in_desk(fake))
        assert _whole_in(posted) == [] and "4512 345678" not in posted

        async with operator(url, "boris", PASSWORD) as plain:
            assert await page_shows(plain, ticket.id, PASSPORT_MASKED)
            page = await ticket_page(plain, ticket.id)
            assert MASKED in card_of(page)  # «Суть»
            assert html.escape(MASKED) in page.split('class="transcript"')[1]
            assert _whole_in(html.unescape(page)) == [] and "4512 345678" not in page
        async with operator(url, "vera", PASSWORD) as supervisor:
            page = html.unescape(await ticket_page(supervisor, ticket.id))
            assert REVIEW in card_of(await ticket_page(supervisor, ticket.id))
            assert REVIEW in page.split('class="transcript"')[1] and PASSPORT in page


async def test_with_masking_off_the_group_sees_everything_whole(
    fake: FakeTelegram, backend: Backend, engine: ConversationEngine
) -> None:
    settings = web_settings(fake, backend, desk_mask_identification=False)
    async with running(settings, engine, clock=Clock()) as runtime:
        ticket = await open_ticket(fake, runtime, trigger=TRIGGER)
        fake.message_update(CHAT, PASSPORT)
        await fake.wait_for(lambda f: any(PASSPORT in str(c.params.get("text")) for c in in_desk(f)))
        assert f"Описание: {TRIGGER}" in card(fake, ticket)["text"]
