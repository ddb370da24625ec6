"""The widget on a portal's page (another origin): one script tag, a button, the chat in a panel,
all of it usable from the keyboard; on a site not allowed to frame the chat, a message instead."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import RUSSIAN, WIDTHS, Site, screenshot, shot
from tests.e2e.conftest import free_port

HOTLINE = "8 800 555-35-35"  # the knowledge base's hotline_phone


@contextlib.asynccontextmanager
async def portal_at(port: int, site: Site) -> AsyncIterator[str]:
    """A portal page on 127.0.0.1:`port` with the widget's script tag."""
    html = (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Портал</title>'
        "<style>button { all: unset; color: red; }</style></head>"  # the portal's CSS must not leak in
        "<body><h1>Портал госуслуг региона</h1><a href='#'>Ссылка портала</a>"
        f'<script src="{site.url}/chat/widget.js" defer></script></body></html>'
    )

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


@pytest.fixture
async def portal(site: Site, portal_port: int) -> AsyncIterator[str]:
    """A site among OKNO_WEB_ALLOWED_ORIGINS."""
    async with portal_at(portal_port, site) as url:
        yield url


@pytest.fixture
async def stranger(site: Site) -> AsyncIterator[str]:
    """A site that is not among them: the chat page's CSP forbids it to frame the chat."""
    async with portal_at(free_port(), site) as url:
        yield url


async def open_widget(browser: Browser, url: str, width: int) -> Page:
    page = await (await browser.new_context(viewport={"width": width, "height": 800}, **RUSSIAN)).new_page()
    await page.goto(url)
    launcher = page.get_by_role("button", name="Открыть чат поддержки")
    await expect(launcher).to_be_visible()
    await launcher.focus()
    await page.keyboard.press("Enter")
    return page


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_widget_opens_the_chat_from_the_keyboard(
    browser: Browser, site: Site, portal: str, width: int
) -> None:
    page = await open_widget(browser, portal, width)
    chat = page.frame_locator("iframe[title='Чат поддержки — Окно']")
    await expect(chat.locator(".okno-from-bot .okno-text").first).to_contain_text("Здравствуйте")
    await chat.locator("#okno-input").fill("как узнать статус заявления")
    await page.keyboard.press("Enter")
    await expect(chat.locator(".okno-from-bot .okno-text").last).to_be_visible()
    await expect(chat.locator(".okno-from-citizen .okno-text")).to_contain_text("как узнать статус заявления")
    await expect(page.locator(".away")).to_have_count(0)  # the wait is gone once the chat is there
    await screenshot(page, shot("widget", width))
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("button", name="Закрыть чат")).to_be_hidden()
    await expect(page.get_by_role("button", name="Открыть чат поддержки")).to_be_focused()


@pytest.mark.parametrize("width", WIDTHS)
async def test_on_a_site_not_allowed_the_widget_says_so_and_shows_the_other_ways(
    browser: Browser, site: Site, stranger: str, width: int
) -> None:
    page = await open_widget(browser, stranger, width)
    message = page.locator(".away")
    await expect(message).to_contain_text("Чат недоступен на этом сайте.")
    await expect(message).to_be_focused()  # a screen reader reads it at once
    assert await page.locator("iframe").count() == 0, "no frame the browser would refuse"
    chat_link = message.get_by_role("link", name="Открыть чат в новой вкладке")
    assert await chat_link.get_attribute("href") == f"{site.url}/chat"
    # the deployment's own ways only: no Telegram bot and no VK community run in this test
    phone = message.get_by_role("link", name=HOTLINE)
    await expect(phone).to_have_attribute("href", "tel:88005553535")
    assert await phone.evaluate("a => a.getClientRects().length") == 1, "the number broke over two lines"
    await expect(message).not_to_contain_text("Telegram")
    await expect(message).not_to_contain_text("ВКонтакте")
    panel = page.locator(".panel")
    assert await panel.evaluate("p => p.scrollWidth <= p.clientWidth"), "the message is wider than the panel"
    await screenshot(page, shot("widget-other-site", width))

    async with page.context.expect_page() as opened:
        await chat_link.click()
    chat = await opened.value
    await expect(chat.locator(".okno-from-bot .okno-text").first).to_contain_text("Здравствуйте")
    await page.bring_to_front()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("button", name="Открыть чат поддержки")).to_be_focused()


@pytest.mark.parametrize("width", WIDTHS)
async def test_when_the_chat_server_cannot_be_asked_the_widget_says_so_and_asks_again(
    browser: Browser, site: Site, portal: str, width: int
) -> None:
    context = await browser.new_context(viewport={"width": width, "height": 800}, **RUSSIAN)
    await context.route("**/chat/embed*", lambda route: route.abort("connectionrefused"))
    page = await context.new_page()
    await page.goto(portal)
    launcher = page.get_by_role("button", name="Открыть чат поддержки")
    await launcher.click()
    await expect(page.locator(".away")).to_contain_text("Не удалось связаться с чатом")
    assert await page.locator("iframe").count() == 0
    await context.unroute("**/chat/embed*")
    await page.get_by_role("button", name="Закрыть чат").click()
    await launcher.click()  # the connection is back: the next open asks again and shows the chat
    chat = page.frame_locator("iframe[title='Чат поддержки — Окно']")
    await expect(chat.locator(".okno-from-bot .okno-text").first).to_contain_text("Здравствуйте")
    await expect(page.locator(".away")).to_have_count(0)
