"""The inbox queue is read on an operator's screen and on a phone: a table with its header row at
1280 px, a card per ticket at 390 px where every value stands beside its column's name."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from handoff.web_pages import QUEUE_COLUMNS
from tests.browser.conftest import DESKTOP, PHONE, RUSSIAN, WIDTHS, Site, sign_in, tickets_from_visitors

# the header row's height, and each cell: its column's name as the header row says it, the name the
# cell shows before its value (CSS generated content, «none» when there is none), where both are and
# how the cell is laid out. Found and measured in one step: the page's live update replaces the
# table now and then, and a table found a moment earlier may be out of the document by then.
CELLS = """() => {
    const table = document.querySelector('table.queue');
    const headers = Array.from(table.querySelectorAll('thead th'), (th) => th.textContent.trim());
    const box = (r) => ({ left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width });
    const headerHeight = table.querySelector('thead').getBoundingClientRect().height;
    const rows = Array.from(table.querySelectorAll('tbody tr'), (row) => Array.from(row.cells, (td, i) => {
        const label = getComputedStyle(td, '::before');
        const value = document.createRange();
        value.selectNodeContents(td);
        return {
            header: headers[i],
            label: label.content,
            labelShown: label.display !== 'none' && label.visibility !== 'hidden',
            display: getComputedStyle(td).display,
            cell: box(td.getBoundingClientRect()),
            value: box(value.getBoundingClientRect()),
            text: td.innerText.trim(),
        };
    }));
    return { headerHeight, rows };
}"""


async def queue_page(browser: Browser, site: Site, width: int) -> Page:
    context = await browser.new_context(viewport={"width": width, "height": 900}, **RUSSIAN)
    page = await context.new_page()
    await sign_in(page, site)
    await expect(page.locator("h1")).to_have_text("Обращения")
    return page


@pytest.mark.parametrize("width", WIDTHS)
async def test_every_value_in_the_queue_keeps_its_column_name(
    browser: Browser, site: Site, width: int
) -> None:
    numbers = await tickets_from_visitors(site, ["Иванов Иван Иванович", "Петрова Анна Сергеевна"])
    page = await queue_page(browser, site, width)
    table = page.locator("table.queue")
    for number in numbers:
        await expect(table.locator(f"tr[data-ticket='{number}']")).to_be_visible()
    measured: dict[str, Any] = await page.evaluate(CELLS)
    rows: list[list[dict[str, Any]]] = measured["rows"]
    assert len(rows) == len(numbers)
    assert all(len(cells) == len(QUEUE_COLUMNS) for cells in rows)
    if width == DESKTOP:  # the table as it was: a header row over plain cells
        await expect(page.locator("table.queue thead")).to_be_visible()
        assert measured["headerHeight"] > 20
        for cell in (c for cells in rows for c in cells):
            assert cell["display"] == "table-cell" and cell["label"] in ("none", "normal"), cell
        return
    # a card per ticket: the header row is there for screen readers only, each value has its name
    assert measured["headerHeight"] <= 1
    for cell in (c for cells in rows for c in cells):
        assert cell["label"] == f'"{cell["header"]}"' and cell["labelShown"], cell
        assert cell["text"], cell
        assert cell["value"]["left"] > cell["cell"]["left"] + 60, f"no room for the name: {cell}"
        assert cell["cell"]["left"] >= 0 and cell["cell"]["right"] <= PHONE, f"off the screen: {cell}"
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
