"""The supervisor page: the `okno stats` figures of the last days as HTML and their chart as PNG, served
at /inbox/stats."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from html import escape

from aiohttp import web

from handoff.stats import MOSCOW, Report, build_report, duration_text, level_label, status_label, table_lines
from handoff.stats_plot import write_plot
from handoff.web_guard import CSRF, SESSION
from handoff.web_responses import page_response
from storage.stats import StatsData

DAYS = 30

StatsSource = Callable[[], Awaitable[tuple[str, bytes]]]  # the page's body, and its chart (`stats_page`)
ReadStats = Callable[[datetime, datetime], Awaitable[StatsData]]  # the figures from `since` to `until`


async def stats_page(read: ReadStats, now: datetime | None = None) -> tuple[str, bytes]:
    """The page body and the chart, over the last DAYS days."""
    until = (now or datetime.now(MOSCOW)).replace(microsecond=0) + timedelta(seconds=1)
    report = build_report(await read(until - timedelta(days=DAYS), until))
    chart = io.BytesIO()
    await asyncio.to_thread(write_plot, report, chart)  # drawing takes a moment: not on the loop
    return _body(report), chart.getvalue()


def _body(report: Report) -> str:
    average = "—" if report.csat is None else f"{report.csat:.2f}".replace(".", ",")
    share = "—" if report.bot_share is None else f"{report.bot_share:.0%}"
    figures = [
        ("Обращений", str(report.tickets)),
        ("Ждут взятия", str(report.waiting)),
        ("Ожидание, медиана", duration_text(report.wait.median)),
        ("Ожидание, p90", duration_text(report.wait.p90)),
        ("Решение, медиана", duration_text(report.resolve.median)),
        ("CSAT", f"{average} из 5 ({report.rated})"),
        ("Бот справился сам", share),
    ]
    cells = "".join(f'<div class="figure">{escape(k)}<b>{escape(v)}</b></div>' for k, v in figures)
    statuses = "".join(f"<li>{escape(status_label(s))}: {n}</li>" for s, n in report.by_status)
    levels = "".join(f"<li>{escape(level_label(level))}: {n}</li>" for level, n in report.by_level)
    table = escape("\n".join(table_lines(report)))
    return (
        f"<h1>Статистика за {DAYS} дней</h1>"
        f'<div class="figures">{cells}</div>'
        '<h2>Графики</h2><img class="chart" src="/inbox/stats.png" '
        'alt="Нагрузка по часам, ожидание и решение обращений, распределение оценок" '
        'width="1400" height="450">'
        f'<div class="columns"><section><h2>По статусу</h2><ul>{statuses}</ul></section>'
        f"<section><h2>По уровню</h2><ul>{levels}</ul></section></div>"
        f"<h2>Отчёт (как в okno stats)</h2><pre>{table}</pre>"
    )


class StatsPages:
    """/inbox/stats and its chart, for supervisors (the guard checks the role)."""

    def __init__(self, report: StatsSource) -> None:
        self.report = report

    async def stats(self, request: web.Request) -> web.StreamResponse:
        body, _ = await self.report()
        return page_response(request, "Статистика", body, request[SESSION], request[CSRF])

    async def stats_chart(self, request: web.Request) -> web.StreamResponse:
        _, chart = await self.report()
        return web.Response(body=chart, content_type="image/png", headers={"Cache-Control": "no-store"})
