"""The `okno stats --plot` picture: inbound load by hour, and how long tickets wait and take."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from handoff.stats import MOSCOW, RATINGS, Durations, Report, duration_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

log = logging.getLogger("okno.handoff.stats_plot")


def write_plot(report: Report, path: Path | BinaryIO) -> None:
    """A PNG with three panels (load, times, ratings); drawn off-screen, without pyplot's state."""
    # Imported here: matplotlib is slow to import and only this option needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    figure = Figure(figsize=(14, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    hours, times, ratings = figure.subplots(1, 3, width_ratios=(3, 2, 2))
    _hours_panel(hours, report)
    hours.yaxis.set_major_locator(MaxNLocator(integer=True))
    _times_panel(times, report)
    _ratings_panel(ratings, report)
    ratings.yaxis.set_major_locator(MaxNLocator(integer=True))
    channel = report.channel or "все каналы"
    since, until = (f"{m.astimezone(MOSCOW):%Y-%m-%d %H:%M}" for m in (report.since, report.until))
    figure.suptitle(f"Okno: {since} — {until} (МСК), {channel}")
    figure.savefig(path, format="png", dpi=100)
    log.info("wrote the plot to %s", path)


def _hours_panel(axes: Axes, report: Report) -> None:
    axes.bar(range(24), report.inbound_by_hour, color="#3b7dd8")
    axes.set_xticks(range(0, 24, 2))
    axes.set_xlim(-0.7, 23.7)
    axes.set_xlabel("час (МСК)")
    axes.set_ylabel("входящих сообщений")
    axes.set_title("Нагрузка по часам")


def _times_panel(axes: Axes, report: Report) -> None:
    series = [(f"ожидание взятия\n{_figures(report.wait)}", report.wait.samples)]
    series += [(f"решение\n{_figures(report.resolve)}", report.resolve.samples)]
    present = [(label, [s / 60 for s in samples]) for label, samples in series if samples]
    axes.set_title("Ожидание и решение обращений")
    if not present:
        axes.text(0.5, 0.5, "нет данных", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    # Whiskers reach to the 10th and 90th percentiles, the p90 the report speaks of.
    axes.boxplot([minutes for _, minutes in present], whis=(10, 90))
    axes.set_xticks(range(1, len(present) + 1), [label for label, _ in present])
    axes.set_ylabel("минут")


def _ratings_panel(axes: Axes, report: Report) -> None:
    axes.bar([str(r) for r in RATINGS], report.ratings, color="#2da44e")
    average = "—" if report.csat is None else f"{report.csat:.2f}".replace(".", ",")
    axes.set_title(f"Оценки (CSAT {average} из 5, n={report.rated})")
    axes.set_xlabel("оценка")
    axes.set_ylabel("обращений")


def _figures(durations: Durations) -> str:
    median, p90 = duration_text(durations.median), duration_text(durations.p90)
    return f"n={durations.count}\nмедиана {median}\np90 {p90}"
