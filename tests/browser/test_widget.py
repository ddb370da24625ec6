"""The widget on a portal's page (another origin): one script tag, a button, the chat in a panel,
all of it usable from the keyboard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from tests.browser.conftest import Site, screenshot


@pytest.fixture
async def portal(site: Site, portal_port: int) -> AsyncIterator[str]:
    html = (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Портал</title>'
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
    await web.TCPSite(runner, "127.0.0.1", portal_port).start()
    yield f"http://127.0.0.1:{portal_port}/"
    await runner.cleanup()


async def test_the_widget_opens_the_chat_from_the_keyboard(browser: Browser, site: Site, portal: str) -> None:
    page = await (await browser.new_context(viewport={"width": 1100, "height": 760})).new_page()
    await page.goto(portal)
    launcher = page.get_by_role("button", name="Открыть чат поддержки")
    await expect(launcher).to_be_visible()
    await launcher.focus()
    await page.keyboard.press("Enter")
    chat = page.frame_locator("iframe[title='Чат поддержки — Окно']")
    await expect(chat.locator(".okno-from-bot .okno-text").first).to_contain_text("Здравствуйте")
    await chat.locator("#okno-input").fill("как узнать статус заявления")
    await page.keyboard.press("Enter")
    await expect(chat.locator(".okno-from-bot .okno-text").last).to_be_visible()
    await expect(chat.locator(".okno-from-citizen .okno-text")).to_contain_text("как узнать статус заявления")
    await screenshot(page, "widget.png")
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("button", name="Закрыть чат")).to_be_hidden()
    await expect(launcher).to_be_focused()
