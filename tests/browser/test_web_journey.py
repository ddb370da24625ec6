"""A citizen in the web chat and an operator in the web inbox, each in their own browser context;
what either reads is checked on an operator's screen (1280 px) and on a phone (390 px)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from dialog.tickets import Status
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    RUSSIAN,
    WIDTHS,
    Site,
    has_a_favicon,
    screenshot,
    shot,
    sign_in,
)

XSS = "<img src=x onerror=alert(1)>"
TICKET = re.compile(r"№ (\d{5}-\d)")
SITUATION = "человек прямо просит оператора, специалиста или живого человека"  # explicit_request's
# a button's or an event's id («intake:skip», «rate:5», «event:resolved»), a rule's («explicit_request»)
RAW_ID = re.compile(r"\b[a-z]+(?:_[a-z]+)*:[\w-]+|\b[a-z]+_[a-z_]+\b")
# everything the citizen sent in the journey below, in order, as a reloaded chat shows it: each press
# as its label (the rating's «5» as the transcript names it, «Оценка 5»)
SENT = [
    "Регистрация и вход",
    "Восстановление пароля и доступа",
    "позовите оператора",
    "Иванов Иван Иванович",
    "123",
    "Пропустить",
    "Пропустить",
    "Пропустить",
    "Не приходит код подтверждения, не могу войти в личный кабинет",
    "Номер поменялся, код пришёл на новый",
    XSS,
    "Оценка 5",
    "Спасибо, всё быстро!",
]


async def say(chat: Page, text: str) -> None:
    await chat.fill("#okno-input", text)
    await chat.press("#okno-input", "Enter")


async def bot_says(chat: Page, text: str) -> None:
    messages = chat.locator(".okno-msg.okno-from-bot .okno-text, .okno-msg.okno-from-operator .okno-text")
    await expect(messages.filter(has_text=text).last).to_be_visible()


async def press(chat: Page, label: str) -> None:
    await chat.locator(".okno-msg .okno-buttons button:not([disabled])", has_text=label).last.click()


async def open_chat(browser: Browser, site: Site, width: int = PHONE) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport={"width": width, "height": 844}, **RUSSIAN)
    chat = await context.new_page()
    dialogs: list[str] = []
    chat.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await chat.goto(f"{site.url}/chat")
    await bot_says(chat, "Здравствуйте")
    return chat, dialogs


async def ask_for_a_person(chat: Page) -> str:
    """Identification questions answered, one skipped after a wrong answer; returns the ticket number."""
    await say(chat, "позовите оператора")
    await bot_says(chat, "фамилию, имя и отчество")
    await say(chat, "Иванов Иван Иванович")
    await bot_says(chat, "СНИЛС")
    await say(chat, "123")  # a wrong СНИЛС gets a hint, then the citizen skips it
    await bot_says(chat, "контрольное число")
    await press(chat, "Пропустить")
    await bot_says(chat, "телефона")
    await press(chat, "Пропустить")
    await bot_says(chat, "номер заявления")
    await press(chat, "Пропустить")
    await bot_says(chat, "одним-двумя предложениями")
    await say(chat, "Не приходит код подтверждения, не могу войти в личный кабинет")
    await bot_says(chat, "Ваше обращение №")
    found = TICKET.search(
        await chat.locator(".okno-from-bot .okno-text", has_text="Ваше обращение").last.inner_text()
    )
    assert found is not None
    return found.group(1)


async def at_width(page: Page, width: int) -> None:
    await page.set_viewport_size({"width": width, "height": 900 if width == DESKTOP else 844})


async def the_ticket_reads_in_words(inbox: Page) -> None:
    """Presses as their labels, the event as a sentence, the situation and the level in Russian."""
    transcript, history, card = inbox.locator(".transcript"), inbox.locator(".events"), inbox.locator(".card")
    await expect(transcript.get_by_text("нажата кнопка «Пропустить»")).to_have_count(3)
    await expect(transcript.get_by_text("нажата кнопка «Оценка 5»")).to_have_count(1)
    await expect(transcript.get_by_text("Обращение отмечено решённым")).to_be_visible()
    await expect(history).to_contain_text(f"Бот: новое ({SITUATION})")
    await expect(card).to_contain_text("2 — оператор")
    await expect(card).to_contain_text(SITUATION)
    await transcript.locator("li").last.scroll_into_view_if_needed()
    await expect(transcript.locator("li").last).to_be_visible()
    text = await inbox.locator("main").inner_text()
    assert not RAW_ID.findall(text), f"raw ids on the ticket page: {RAW_ID.findall(text)}"
    for raw in ("intake:skip", "rate:5", "event:resolved", "explicit_request"):
        assert raw not in await inbox.content()


async def the_chat_shows_what_was_sent_and_nothing_else(chat: Page) -> None:
    """No empty bubble for a press, no bubble for the ticket's event; the presses read as labels."""
    await bot_says(chat, "ваш отзыв записан")
    bubbles = chat.locator(".okno-msg")
    texts = await bubbles.evaluate_all(
        "nodes => nodes.map((n) => [n.className, n.querySelector('.okno-text').textContent,"
        " !!n.querySelector('.okno-file')])"
    )
    assert all(text.strip() or has_file for _, text, has_file in texts), f"an empty bubble: {texts}"
    citizen = [text for css, text, _ in texts if "okno-from-citizen" in css]
    assert citizen == SENT
    assert not any(RAW_ID.search(text) for _, text, _ in texts), texts


async def screenshots_of_the_chat(chat: Page) -> None:
    await screenshot(chat, shot("chat", PHONE))
    await at_width(chat, DESKTOP)
    await screenshot(chat, shot("chat", DESKTOP))
    await at_width(chat, PHONE)


async def an_operator_signs_in(browser: Browser, site: Site, number: str) -> tuple[Page, Page]:
    """The same operator at a desk and on a phone: the queue shows the ticket on both."""
    context = await browser.new_context(viewport={"width": DESKTOP, "height": 900}, **RUSSIAN)
    inbox = await context.new_page()
    await sign_in(inbox, site, "не тот пароль")
    await expect(inbox.locator(".error")).to_have_text("Неверный логин или пароль.")
    await sign_in(inbox, site)
    phone = await context.new_page()
    await at_width(phone, PHONE)
    for page, width in ((inbox, DESKTOP), (phone, PHONE)):
        await page.goto(f"{site.url}/inbox")
        await expect(page.locator("table.queue")).to_contain_text(number)
        await expect(page.get_by_role("navigation", name="Уровень")).to_contain_text("2 — оператор")
        await has_a_favicon(page)
        await screenshot(page, shot("inbox-queue", width))
    return inbox, phone


async def the_operator_answers(inbox: Page, chat: Page) -> None:
    await inbox.click("button[data-action=take]")
    await bot_says(chat, "занимается оператор Анна Петрова")  # live, from the other browser
    notice = chat.locator(".okno-from-bot .okno-text", has_text="занимается оператор")
    await expect(notice).to_have_count(1)  # a notice about the ticket, not the operator's own words
    await inbox.fill("#reply-text", "Здравствуйте! Проверьте, пожалуйста, номер телефона в профиле.")
    await inbox.click("#reply-send")
    await bot_says(chat, "Проверьте, пожалуйста, номер телефона")
    await expect(chat.locator(".okno-from-operator").last).to_contain_text("Анна Петрова")


async def resolved_and_rated(inbox: Page, chat: Page) -> None:
    await inbox.click("button[data-action=resolve]")
    await bot_says(chat, "Оцените, пожалуйста")
    await press(chat, "5")
    await bot_says(chat, "напишите комментарий")
    await say(chat, "Спасибо, всё быстро!")
    await bot_says(chat, "ваш отзыв записан")
    # the page learns of the rating from its event in the history, live
    await expect(inbox.locator(".card")).to_contain_text("5 из 5: Спасибо, всё быстро!", timeout=20_000)


async def test_from_the_menu_to_a_person_and_back(browser: Browser, site: Site) -> None:
    chat, dialogs = await open_chat(browser, site)
    await press(chat, "Регистрация и вход")
    await press(chat, "Восстановление пароля и доступа")
    await bot_says(chat, "Помог ли ответ?")
    number = await ask_for_a_person(chat)
    await screenshots_of_the_chat(chat)

    inbox, phone = await an_operator_signs_in(browser, site, number)
    await inbox.click(f"text={number}")
    await expect(inbox.locator(".card")).to_contain_text("Иванов И. И.")  # masked for an operator
    await the_operator_answers(inbox, chat)

    # the citizen's connection drops; what they write meanwhile arrives after the reconnect
    await chat.evaluate("window.oknoChat.socket().close()")
    await say(chat, "Номер поменялся, код пришёл на новый")
    transcript = inbox.locator(".transcript")
    await expect(transcript).to_contain_text("Номер поменялся", timeout=10_000)  # the page updates itself
    await screenshot(inbox, shot("inbox-ticket", DESKTOP))
    await phone.goto(inbox.url)
    await expect(phone.locator(".transcript")).to_contain_text("Номер поменялся")
    await has_a_favicon(phone)
    await screenshot(phone, shot("inbox-ticket", PHONE), full_page=True)

    await say(chat, XSS)
    await expect(transcript).to_contain_text(XSS)  # shown as text, never as markup
    assert await transcript.locator("img").count() == 0

    await resolved_and_rated(inbox, chat)
    ticket = await site.runtime.handoff.store.by_number(number)
    assert ticket is not None and ticket.status == Status.RESOLVED.value and ticket.rating == 5
    assert ticket.assignee == "web:anna"
    assert not dialogs, "citizen text must never run as script"
    await expect(chat.locator(".okno-from-citizen .okno-text", has_text=XSS)).to_have_count(1)

    for page in (inbox, phone):  # reloaded: the whole ticket as the database has it
        await page.reload()
        await the_ticket_reads_in_words(page)
    for width in WIDTHS:
        await at_width(chat, width)
        await chat.reload()
        await the_chat_shows_what_was_sent_and_nothing_else(chat)


async def test_a_returning_visitor_sees_their_conversation(browser: Browser, site: Site) -> None:
    chat, _ = await open_chat(browser, site)
    await say(chat, "как восстановить пароль")
    await bot_says(chat, "Помог ли ответ?")
    await chat.reload()
    await expect(
        chat.locator(".okno-from-citizen .okno-text", has_text="как восстановить пароль")
    ).to_be_visible()
    await bot_says(chat, "Помог ли ответ?")
    await expect(chat.locator(".okno-from-bot .okno-text", has_text="Здравствуйте")).to_have_count(1)


@pytest.mark.parametrize("width", WIDTHS)
async def test_a_number_stays_whole_and_the_picker_offers_what_is_taken(
    browser: Browser, site: Site, width: int
) -> None:
    chat, _ = await open_chat(browser, site, width)
    await say(chat, "номер горячей линии")
    await bot_says(chat, "Помог ли ответ?")
    numbers = chat.locator(".okno-from-bot .okno-nowrap", has_text="555-35-35")
    await expect(numbers.first).to_be_visible()
    lines = await numbers.evaluate_all("spans => spans.map((span) => span.getClientRects().length)")
    assert lines and all(n == 1 for n in lines), f"the hotline number broke over two lines: {lines}"
    # the server takes JPEG and PNG only: the picker must not offer PDF and then refuse it
    assert await chat.locator("#okno-file").get_attribute("accept") == "image/jpeg,image/png"
    await has_a_favicon(chat)
