"""The operators' web inbox over HTTP: sign-in, CSRF, rights by role and level, races, notes,
statistics and live updates. Tickets come from real citizens on the web chat socket."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from dialog.engine import ConversationEngine
from dialog.tickets import Ticket
from handoff import texts
from handoff.accounts import UNNAMED, Role, hash_password
from handoff.web_guard import CSRF_FAILED, LOGIN_FAILED, LOGIN_THROTTLED
from handoff.web_tickets import NOT_ALLOWED, NOTE_SAVED, SENT
from tests.e2e.web_helpers import (
    Operator,
    Site,
    card_of,
    citizen,
    csrf_of,
    open_ticket,
    operator,
    photo_during_a_handoff,
    serving,
    sign_in,
)

PASSWORD = "верный-пароль-42"
ACCOUNTS = {
    "anna": ("Анна Петрова", Role.OPERATOR),
    "boris": ("Борис Орлов", Role.OPERATOR),
    "olga": ("Ольга Смирнова", Role.SPECIALIST),
    "sveta": ("Светлана Ким", Role.SUPERVISOR),
}
FULL_NAME = "Иванов Иван Иванович"
COMPLAINT = "хочу пожаловаться на оператора"  # the complaint topic: a level-3 ticket


@pytest.fixture
async def site(tmp_path: Path, engine: ConversationEngine) -> AsyncIterator[Site]:
    async with serving(tmp_path, engine) as running_site:
        assert running_site.runtime.web_store is not None
        for login, (name, role) in ACCOUNTS.items():
            await running_site.runtime.web_store.add_account(login, name, role.value, hash_password(PASSWORD))
        yield running_site


@contextlib.asynccontextmanager
async def signed_in(site: Site, login: str) -> AsyncIterator[Operator]:
    async with operator(site.url, login, PASSWORD) as someone:
        yield someone


def card_text_of(card: str) -> str:
    """The card's words without markup: «ГражданинИванов И. И.» for a term and its definition."""
    return html.unescape(re.sub(r"<[^>]+>", "", card))


async def ticket_of(site: Site, number: str) -> Ticket:
    ticket = await site.runtime.handoff.store.by_number(number)
    assert ticket is not None
    return ticket


# Signing in


async def test_pages_send_a_stranger_to_the_sign_in_page(site: Site) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/inbox", "/inbox/ticket/1", "/inbox/stats"):
            async with http.get(f"{site.url}{path}", allow_redirects=False) as response:
                assert (response.status, response.headers["Location"]) == (303, "/inbox/login"), path
        async with http.post(f"{site.url}/inbox/ticket/1/take", data={"csrf": "x"}) as response:
            assert response.status == 401
        async with http.get(f"{site.url}/inbox") as response:
            assert "Вход для операторов" in await response.text()


async def test_the_inbox_guard_opens_only_the_sign_in_and_its_files_to_strangers(site: Site) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{site.url}/inbox/static/inbox.css") as response:
            assert response.status == 200  # the sign-in page needs its styles
        async with http.get(f"{site.url}/inbox/no-such-page", allow_redirects=False) as response:
            assert response.status == 404  # nothing there, for anyone
        async with http.get(f"{site.url}/inbox/events", allow_redirects=False) as response:
            assert response.status == 401  # a live-update stream is not redirected to a page
        async with http.get(f"{site.url}/inbox/ticket/1/files/1/0", allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (303, "/inbox/login")
    async with signed_in(site, "anna") as anna:
        assert (await anna.get("/inbox/no-such-page"))[0] == 404


async def test_a_wrong_password_or_login_gets_the_same_plain_refusal(site: Site) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for login, password in (("anna", "не тот пароль"), ("nobody", PASSWORD)):
            status, page = await sign_in(http, site.url, login, password)
            assert status == 401 and LOGIN_FAILED in html.unescape(page)
        async with http.get(f"{site.url}/inbox", allow_redirects=False) as response:
            assert response.status == 303  # still not signed in


async def test_sign_in_is_throttled_after_five_failures(site: Site) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for _ in range(5):
            status, _ = await sign_in(http, site.url, "anna", "подбираю пароль")
            assert status == 401
        status, page = await sign_in(http, site.url, "anna", PASSWORD)  # even the right one, for now
        assert status == 429 and LOGIN_THROTTLED in html.unescape(page)
        status, _ = await sign_in(http, site.url, "boris", PASSWORD)  # another login is not held up
        assert status == 200


async def test_a_disabled_account_cannot_sign_in_and_its_session_stops(site: Site) -> None:
    assert site.runtime.web_store is not None
    async with signed_in(site, "anna") as anna:
        assert (await anna.get("/inbox"))[0] == 200
        await site.runtime.web_store.set_account("anna", disabled=True)
        async with anna.http.get(f"{site.url}/inbox", allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (303, "/inbox/login")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, page = await sign_in(http, site.url, "anna", PASSWORD)
    assert status == 401 and LOGIN_FAILED in html.unescape(page)


async def test_signing_out_ends_every_session_of_the_operator(site: Site) -> None:
    async with signed_in(site, "anna") as laptop, signed_in(site, "anna") as phone:
        stolen = laptop.http.cookie_jar.filter_cookies(URL(site.url))["okno_session"].value
        async with laptop.http.post(f"{site.url}/inbox/logout", data={"csrf": laptop.csrf}) as response:
            assert "Вход для операторов" in await response.text()
        assert (await laptop.get("/inbox"))[0] == 303
        assert (await phone.get("/inbox"))[0] == 303  # the other device is signed out too
        async with (
            aiohttp.ClientSession(cookies={"okno_session": stolen}) as thief,
            thief.get(f"{site.url}/inbox", allow_redirects=False) as response,
        ):
            assert response.status == 303  # a copy of the cookie is worth nothing now
    async with signed_in(site, "anna") as again:  # signing in afterwards works at once
        assert (await again.get("/inbox"))[0] == 200


# Acting on tickets


async def test_a_form_without_the_right_csrf_token_changes_nothing(site: Site) -> None:
    async with citizen(site) as visitor, signed_in(site, "anna") as anna, signed_in(site, "boris") as boris:
        ticket = await ticket_of(site, await open_ticket(visitor))
        assert await anna.act(ticket, "take", csrf="") == CSRF_FAILED
        assert await anna.act(ticket, "take", csrf=boris.csrf) == CSRF_FAILED  # another session's token
        assert await anna.act(ticket, "note", csrf="", text="заметка") == CSRF_FAILED
        unchanged = await ticket_of(site, ticket.number or "")
        assert (unchanged.status, unchanged.assignee) == ("new", None)
        assert site.runtime.web_store is not None and await site.runtime.web_store.notes(ticket.id) == []

        assert await anna.act(ticket, "take") == texts.YOU_TOOK.format(number=ticket.number)
    assert (await ticket_of(site, ticket.number or "")).assignee == "web:anna"


async def test_a_garbled_non_ascii_csrf_token_gets_the_stale_form_notice(site: Site) -> None:
    async with citizen(site) as visitor, signed_in(site, "anna") as anna:
        ticket = await ticket_of(site, await open_ticket(visitor))
        assert await anna.act(ticket, "take", csrf="токен") == CSRF_FAILED


async def test_only_specialists_and_supervisors_act_on_a_level_3_ticket(site: Site) -> None:
    async with citizen(site) as visitor, signed_in(site, "anna") as anna, signed_in(site, "olga") as olga:
        ticket = await ticket_of(site, await open_ticket(visitor, COMPLAINT))
        assert ticket.level == 3 and ticket.rule == "complaint"
        _, page = await anna.get(f"/inbox/ticket/{ticket.id}")
        assert "уровня специалиста" in page and 'data-action="take"' not in page
        assert await anna.act(ticket, "take") == NOT_ALLOWED
        assert (await ticket_of(site, ticket.number or "")).status == "new"

        assert await olga.act(ticket, "take") == texts.YOU_TOOK.format(number=ticket.number)
    taken = await ticket_of(site, ticket.number or "")
    assert (taken.status, taken.assignee, taken.assignee_name) == (
        "in_progress",
        "web:olga",
        "Ольга Смирнова",
    )


async def test_identification_is_masked_for_operators_and_whole_for_the_others(site: Site) -> None:
    async with citizen(site) as visitor:
        ticket = await ticket_of(site, await open_ticket(visitor, name=FULL_NAME))
    cards, pages = {}, {}
    for login in ("anna", "olga", "sveta"):
        async with signed_in(site, login) as someone:
            status, page = await someone.get(f"/inbox/ticket/{ticket.id}")
            assert status == 200
            cards[login], pages[login] = card_of(page), page
    assert "Иванов И. И." in cards["anna"] and FULL_NAME not in cards["anna"]
    assert "ГражданинИванов И. И." in card_text_of(cards["anna"])  # the ФИО names the citizen
    assert FULL_NAME not in pages["anna"]  # the citizen's answer in the transcript is masked too
    assert FULL_NAME in pages["sveta"]
    assert FULL_NAME in cards["olga"] and FULL_NAME in cards["sveta"]


async def test_of_two_operators_taking_one_ticket_at_once_one_wins(site: Site) -> None:
    async with citizen(site) as visitor, signed_in(site, "anna") as anna, signed_in(site, "boris") as boris:
        ticket = await ticket_of(site, await open_ticket(visitor))
        flashes = dict(
            zip(
                ("anna", "boris"),
                await asyncio.gather(anna.act(ticket, "take"), boris.act(ticket, "take")),
                strict=True,
            )
        )
    taken = await ticket_of(site, ticket.number or "")
    winner = (taken.assignee or "").removeprefix("web:")
    loser = "boris" if winner == "anna" else "anna"
    assert winner in ("anna", "boris") and taken.assignee_name == ACCOUNTS[winner][0]
    assert flashes[winner] == texts.YOU_TOOK.format(number=ticket.number)
    assert flashes[loser] == texts.TAKEN_BY.format(name=ACCOUNTS[winner][0])


async def test_a_note_is_shown_as_text_and_never_reaches_the_citizen(site: Site) -> None:
    note = "<b>x</b> проверить паспорт"
    async with citizen(site) as visitor, signed_in(site, "anna") as anna:
        ticket = await ticket_of(site, await open_ticket(visitor))
        await anna.act(ticket, "take")
        assert await anna.act(ticket, "note", text=note) == NOTE_SAVED
        _, page = await anna.get(f"/inbox/ticket/{ticket.id}")
        assert "&lt;b&gt;x&lt;/b&gt; проверить паспорт" in page and "<b>x</b>" not in page

        after = len(visitor.frames)
        assert await anna.act(ticket, "reply", text="Здравствуйте, проверяю данные.") == SENT
        await visitor.reply(after, "проверяю данные")  # sent after the note: the note would be here by now
    assert not any("проверить паспорт" in str(frame.get("text")) for frame in visitor.frames)
    assert site.runtime.web_store is not None
    history = await site.runtime.web_store.history("web", visitor.chat_id, 500)
    assert not any("проверить паспорт" in item.text for item in history)


async def test_the_queue_filters_by_status_and_level(site: Site) -> None:
    async with citizen(site) as first, citizen(site) as second, signed_in(site, "sveta") as sveta:
        plain = await ticket_of(site, await open_ticket(first))
        complaint = await ticket_of(site, await open_ticket(second, COMPLAINT))
        _, specialists = await sveta.get("/inbox?level=3")
        assert complaint.number in specialists and plain.number not in specialists
        await sveta.act(plain, "take")
        _, new = await sveta.get("/inbox?tab=new")
        _, working = await sveta.get("/inbox?tab=in_progress")
    assert complaint.number in new and plain.number not in new
    assert plain.number in working and complaint.number not in working


async def test_a_citizens_photo_is_linked_on_the_ticket_page(site: Site) -> None:
    async with citizen(site) as visitor:
        number, ref, _ = await photo_during_a_handoff(site, visitor)
    ticket = await ticket_of(site, number)
    async with signed_in(site, "sveta") as sveta:
        _, page = await sveta.get(f"/inbox/ticket/{ticket.id}")
        link = re.search(rf'href="(/chat/files/{re.escape(ref)}\?[^"]+)"', page)
        assert link is not None, "the photo is not linked with a signature"
        url = f"{site.url}{html.unescape(link.group(1))}"
        async with sveta.http.get(url, headers={"Range": "bytes=0-9"}) as response:
            assert response.status == 206 and len(await response.read()) == 10  # players seek
            assert response.headers["Cache-Control"] == "private, no-store"
    async with aiohttp.ClientSession() as stranger, stranger.get(f"{site.url}/chat/files/{ref}") as bare:
        assert bare.status == 403  # the link without its signature opens nothing


# Statistics and live updates


async def test_statistics_are_for_supervisors_only(site: Site) -> None:
    async with signed_in(site, "anna") as anna:
        assert (await anna.get("/inbox/stats"))[0] == 403
        assert (await anna.get("/inbox/stats.png"))[0] == 403
        assert 'href="/inbox/stats"' not in (await anna.get("/inbox"))[1]
    async with signed_in(site, "sveta") as sveta:
        status, page = await sveta.get("/inbox/stats")
        assert status == 200 and "Статистика за 30 дней" in page
        async with sveta.http.get(f"{site.url}/inbox/stats.png") as response:
            assert response.status == 200 and response.content_type == "image/png"
            assert (await response.read()).startswith(b"\x89PNG\r\n\x1a\n")


async def lines_within(response: aiohttp.ClientResponse, seconds: float, until: str = "") -> list[str]:
    """Lines of the event stream read for `seconds`, or until a line equal to `until` arrives."""
    lines: list[str] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while line := await response.content.readline():
                lines.append(line.decode().strip())
                if until and lines[-1] == until:
                    break
    return lines


async def test_open_pages_are_told_when_a_ticket_changes(site: Site) -> None:
    async with citizen(site) as visitor, signed_in(site, "anna") as anna, signed_in(site, "boris") as boris:
        ticket = await ticket_of(site, await open_ticket(visitor))
        async with anna.http.get(f"{site.url}/inbox/events") as events:
            assert events.status == 200 and events.content_type == "text/event-stream"
            await lines_within(events, 1.5)  # the stream settles on the current state
            assert "event: change" not in await lines_within(events, 1.2)  # nothing happens: no news
            await boris.act(ticket, "take")
            assert "event: change" in await lines_within(events, 5, until="event: change")


async def test_a_citizen_sees_a_web_reply_as_the_operators(site: Site) -> None:
    async with citizen(site) as visitor, signed_in(site, "anna") as anna:
        ticket = await ticket_of(site, await open_ticket(visitor))
        after = len(visitor.frames)
        assert await anna.act(ticket, "reply", text="Проверьте, пожалуйста, номер телефона.") == SENT
        _, frame = await visitor.reply(after, "номер телефона")
    assert frame["from"] == "operator" and frame["text"].startswith("Анна Петрова: ")
    assert (await ticket_of(site, ticket.number or "")).assignee == "web:anna"  # answering takes it


async def test_button_presses_read_as_their_labels_for_operators_and_after_a_reload(site: Site) -> None:
    async with citizen(site) as visitor:
        number = await open_ticket(visitor)  # every identification question skipped with its button
        token = visitor.token
    ticket = await ticket_of(site, number)
    async with signed_in(site, "anna") as anna:
        _, page = await anna.get(f"/inbox/ticket/{ticket.id}")
        _, queue = await anna.get("/inbox")
    assert "2 — оператор" in html.unescape(queue) and "3 — старший специалист" in html.unescape(queue)
    assert "нажата кнопка «Пропустить»" in html.unescape(page)
    assert "intake:skip" not in page
    # the history names who and why in words: «Бот: новое (просьба соединить с оператором)»
    assert "bot:" not in page and "explicit_request" not in page and "Бот: " in html.unescape(page)
    async with citizen(site, token) as again:  # the chat page reloaded
        history = again.welcome["history"]
    pressed = [f for f in history if f["from"] == "citizen" and f["text"] == "Пропустить"]
    assert pressed, history
    assert all(f["text"] or f.get("file") for f in history if f["from"] == "citizen")  # no empty bubbles


async def test_a_resolved_ticket_reads_as_a_sentence_not_as_the_citizens_press(site: Site) -> None:
    async with citizen(site) as visitor:
        ticket = await ticket_of(site, await open_ticket(visitor))
        token = visitor.token
        async with signed_in(site, "anna") as anna:
            await anna.act(ticket, "take")
            after = len(visitor.frames)
            await anna.act(await ticket_of(site, ticket.number or ""), "resolve")
            await visitor.reply(after, "Оцените")  # the event reached the citizen's conversation
            _, page = await anna.get(f"/inbox/ticket/{ticket.id}")
    assert "Обращение отмечено решённым" in html.unescape(page)
    assert "event:resolved" not in page
    async with citizen(site, token) as again:
        history = again.welcome["history"]
    assert all(f["text"] or f.get("file") for f in history if f["from"] == "citizen")  # no phantom bubble


async def test_the_first_account_gives_a_persons_name_before_it_acts(site: Site) -> None:
    assert site.runtime.web_store is not None
    await site.runtime.web_store.add_account("admin", UNNAMED, Role.SUPERVISOR.value, hash_password(PASSWORD))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, page = await sign_in(http, site.url, "admin", PASSWORD)
        assert status == 200 and "Как вас представлять?" in page  # asked before the queue
        async with http.get(f"{site.url}/inbox", allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (303, "/inbox/name")
        form = {"csrf": csrf_of(page), "name": "  я "}
        async with http.post(f"{site.url}/inbox/name", data=form) as response:
            assert "от 2 до 64 символов" in await response.text()
        form["name"] = "Мария   Иванова"
        async with http.post(f"{site.url}/inbox/name", data=form) as response:
            page = await response.text()
        assert "Обращения" in page and "Мария Иванова" in page  # the queue, with the new name
        account = await site.runtime.web_store.account("admin")
        assert account is not None and account.name == "Мария Иванова"
        async with citizen(site) as visitor:
            ticket = await ticket_of(site, await open_ticket(visitor))
            taker = Operator(http, site.url, csrf_of(page))
            after = len(visitor.frames)
            await taker.act(ticket, "take")
            await visitor.reply(after, "занимается оператор Мария Иванова")
