"""«Завершить чат» on a shared computer: the next person at the same browser sees a fresh chat, not
the previous citizen's conversation, at an operator's screen width (1280 px) and on a phone (390 px)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from adapters.web.server import chat_id_of
from tests.browser.conftest import RUSSIAN, WIDTHS, Site

PRIVATE = "Иванов Иван Иванович, СНИЛС 112-233-445 95"


@pytest.mark.parametrize("width", WIDTHS)
async def test_ending_the_chat_shows_the_next_person_a_fresh_one(
    browser: Browser, site: Site, width: int
) -> None:
    context = await browser.new_context(viewport={"width": width, "height": 844}, **RUSSIAN)
    chat = await context.new_page()
    await chat.goto(f"{site.url}/chat")
    greeting = chat.locator(".okno-from-bot .okno-text", has_text="Здравствуйте")
    await expect(greeting).to_have_count(1)
    await chat.fill("#okno-input", PRIVATE)
    await chat.press("#okno-input", "Enter")
    mine = chat.locator(".okno-from-citizen .okno-text", has_text=PRIVATE)
    await expect(mine).to_be_visible()
    old = await chat.evaluate("localStorage.getItem('okno.visitor')")
    assert old

    end = chat.get_by_role("button", name="Завершить чат")
    await expect(end).to_be_visible()
    await end.click()
    await expect(chat.locator(".okno-notice", has_text="Чат завершён")).to_be_visible()
    await expect(greeting).to_have_count(1)  # a new chat's greeting
    await expect(mine).to_have_count(0)
    fresh = "(old) => { const v = localStorage.getItem('okno.visitor'); return !!v && v !== old; }"
    await chat.wait_for_function(fresh, arg=old)  # a new token from the server, the old one gone
    assert site.runtime.web_store is not None and await site.runtime.web_store.ended(chat_id_of(old))

    await chat.reload()  # the next person reloads: still nothing of the previous citizen's
    await expect(greeting).to_have_count(1)
    await expect(mine).to_have_count(0)
    await context.close()
