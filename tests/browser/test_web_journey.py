"""A citizen in the web chat and an operator in the web inbox, each in their own browser context."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from handoff.tickets import Status
from tests.browser.conftest import OPERATOR_PASSWORD, Site, screenshot

XSS = "<img src=x onerror=alert(1)>"
TICKET = re.compile(r"№ (\d{5}-\d)")


async def say(chat: Page, text: str) -> None:
    await chat.fill("#okno-input", text)
    await chat.press("#okno-input", "Enter")


async def bot_says(chat: Page, text: str) -> None:
    messages = chat.locator(".okno-msg.okno-from-bot .okno-text, .okno-msg.okno-from-operator .okno-text")
    await expect(messages.filter(has_text=text).last).to_be_visible()


async def press(chat: Page, label: str) -> None:
    await chat.locator(".okno-msg .okno-buttons button:not([disabled])", has_text=label).last.click()


async def sign_in(inbox: Page, site: Site, password: str) -> None:
    await inbox.goto(f"{site.url}/inbox")
    await inbox.fill("#login", "anna")
    await inbox.fill("#password", password)
    await inbox.click("button[type=submit]")


async def open_chat(browser: Browser, site: Site) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport={"width": 420, "height": 820}, locale="ru-RU")
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


async def test_from_the_menu_to_a_person_and_back(browser: Browser, site: Site) -> None:
    chat, dialogs = await open_chat(browser, site)
    await press(chat, "Регистрация и вход")
    await press(chat, "Восстановление пароля и доступа")
    await bot_says(chat, "Помог ли ответ?")

    number = await ask_for_a_person(chat)
    await say(chat, XSS)
    await screenshot(chat, "chat.png")

    inbox = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
    await sign_in(inbox, site, "не тот пароль")
    await expect(inbox.locator(".error")).to_have_text("Неверный логин или пароль.")
    await sign_in(inbox, site, OPERATOR_PASSWORD)
    await expect(inbox.locator("table.queue")).to_contain_text(number)
    await screenshot(inbox, "inbox-queue.png")
    await inbox.click(f"text={number}")
    await expect(inbox.locator(".card")).to_contain_text("Иванов И. И.")  # masked for an operator
    transcript = inbox.locator(".transcript")
    await expect(transcript).to_contain_text(XSS)  # shown as text, never as markup
    assert await transcript.locator("img").count() == 0

    await inbox.click("button[data-action=take]")
    await bot_says(chat, "занимается оператор Анна Петрова")  # live, from the other browser
    notice = chat.locator(".okno-from-bot .okno-text", has_text="занимается оператор")
    await expect(notice).to_have_count(1)  # a notice about the ticket, not the operator's own words
    await inbox.fill("#reply-text", "Здравствуйте! Проверьте, пожалуйста, номер телефона в профиле.")
    await inbox.click("#reply-send")
    await bot_says(chat, "Проверьте, пожалуйста, номер телефона")
    await expect(chat.locator(".okno-from-operator").last).to_contain_text("Анна Петрова")

    # the citizen's connection drops; what they write meanwhile arrives after the reconnect
    await chat.evaluate("window.oknoChat.socket().close()")
    await say(chat, "Номер поменялся, код пришёл на новый")
    await expect(transcript).to_contain_text("Номер поменялся", timeout=10_000)  # the page updates itself
    await screenshot(inbox, "inbox-ticket.png")

    await inbox.click("button[data-action=resolve]")
    await bot_says(chat, "Оцените, пожалуйста")
    await press(chat, "5")
    await bot_says(chat, "напишите комментарий")
    await say(chat, "Спасибо, всё быстро!")
    await bot_says(chat, "ваш отзыв записан")
    # the page learns of the rating from its event in the history, live
    await expect(inbox.locator(".card")).to_contain_text("5 из 5: Спасибо, всё быстро!", timeout=20_000)

    ticket = await site.runtime.handoff.store.by_number(number)
    assert ticket is not None and ticket.status == Status.RESOLVED.value and ticket.rating == 5
    assert ticket.assignee == "web:anna"
    assert not dialogs, "citizen text must never run as script"
    await expect(chat.locator(".okno-from-citizen .okno-text", has_text=XSS)).to_have_count(1)


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


async def test_on_a_phone_a_number_stays_whole_and_the_picker_offers_what_is_taken(
    browser: Browser, site: Site
) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
    chat = await context.new_page()
    await chat.goto(f"{site.url}/chat")
    await bot_says(chat, "Здравствуйте")
    await say(chat, "номер горячей линии")
    await bot_says(chat, "Помог ли ответ?")
    numbers = chat.locator(".okno-from-bot .okno-nowrap", has_text="555-35-35")
    await expect(numbers.first).to_be_visible()
    lines = await numbers.first.evaluate("span => span.getClientRects().length")
    assert lines == 1, "the hotline number broke over two lines"
    # the server takes JPEG and PNG only: the picker must not offer PDF and then refuse it
    assert await chat.locator("#okno-file").get_attribute("accept") == "image/jpeg,image/png"
    assert await chat.locator("link[rel=icon]").count() == 1
