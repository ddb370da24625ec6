"""Okno's web chat and web inbox in a real browser: Debian's chromium, headless, driven by Playwright.

Nothing here downloads a browser. Without chromium the tests are skipped with a loud notice (and
fail under CI, where `.ci/run` installs it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bots.settings import Settings
from bots.wiring import Runtime
from dialog.engine import ConversationEngine
from handoff.accounts import Role, hash_password
from tests.e2e.conftest import free_port, running
from tests.e2e.web_helpers import Site as SocketSite
from tests.e2e.web_helpers import citizen, listening, open_ticket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OPERATOR_PASSWORD = "верный-пароль-42"
SCREENSHOTS = os.environ.get("OKNO_SCREENSHOTS")  # a folder: `make screenshots` writes docs/ from here
DESKTOP, PHONE = 1280, 390  # px: an operator's screen and a citizen's phone
WIDTHS = (DESKTOP, PHONE)
RUSSIAN = {"locale": "ru-RU", "timezone_id": "Europe/Moscow"}  # a browser in Russia, as the inbox's clock


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CHROMIUM is not None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI must run the browser tests: install Debian's chromium (.ci/run does)")
    skip = pytest.mark.skip(reason="chromium is not installed: `apt-get install chromium` to run these")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CHROMIUM is None:
        terminalreporter.write_sep(
            "!", "BROWSER TESTS SKIPPED: no chromium here (apt-get install chromium)", red=True, bold=True
        )


@dataclass
class Site:
    url: str
    runtime: Runtime


@pytest.fixture
def portal_port() -> int:
    """A portal site on another origin that embeds the chat widget."""
    return free_port()


@pytest.fixture
async def site(tmp_path: Path, engine: ConversationEngine, portal_port: int) -> AsyncIterator[Site]:
    port = free_port()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'okno.sqlite3'}",
        web_port=port,
        web_secret="browser-test-secret",
        web_allowed_origins=[f"http://127.0.0.1:{portal_port}"],
        workers=8,
    )
    async with running(settings, engine) as runtime, aiohttp.ClientSession() as http:
        await listening(http, f"http://127.0.0.1:{port}")
        assert runtime.web_store is not None
        await runtime.web_store.add_account(
            "anna", "Анна Петрова", Role.OPERATOR.value, hash_password(OPERATOR_PASSWORD)
        )
        yield Site(f"http://127.0.0.1:{port}", runtime)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # a microphone that plays a beep and is allowed without asking: voice messages record
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield launched
        finally:
            await launched.close()


def shot(name: str, width: int) -> str:
    """«inbox-queue.png» at the desktop width, «inbox-queue-390.png» at another."""
    return f"{name}.png" if width == DESKTOP else f"{name}-{width}.png"


async def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=full_page)


async def sign_in(inbox: Page, site: Site, password: str = OPERATOR_PASSWORD) -> None:
    await inbox.goto(f"{site.url}/inbox")
    await inbox.fill("#login", "anna")
    await inbox.fill("#password", password)
    await inbox.click("button[type=submit]")


async def has_a_favicon(page: Page) -> None:
    """The page names an icon, and the browser can draw it (no request for /favicon.ico fails)."""
    icon = page.locator("link[rel=icon]")
    await expect(icon).to_have_count(1)
    drawn = await icon.evaluate(
        """link => new Promise((done) => {
            const image = new Image();
            image.onload = () => done(image.naturalWidth > 0);
            image.onerror = () => done(false);
            image.src = link.href;
        })"""
    )
    assert drawn, "the favicon cannot be drawn"


async def tickets_from_visitors(site: Site, names: list[str]) -> list[str]:
    """Tickets opened over the chat's socket (quicker than a page): their numbers."""
    numbers = []
    async with aiohttp.ClientSession() as http:
        for name in names:
            async with citizen(SocketSite(site.url, site.runtime, http)) as visitor:
                numbers.append(await open_ticket(visitor, name=name))
    return numbers
