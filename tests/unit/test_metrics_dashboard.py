"""The sample Grafana dashboard plots only metrics Okno exposes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bots.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def test_every_metric_on_the_dashboard_is_exposed() -> None:
    metrics = Metrics()
    metrics.handled.labels("telegram", "answer").inc()  # labelled series appear once used
    metrics.sends.labels("telegram", "sent").inc()
    metrics.received.labels("telegram").inc()
    metrics.queue_depth.labels("inbox").set(0)
    metrics.queue_age.labels("inbox").set(0)
    metrics.tickets.labels("new").set(0)
    metrics.engine_seconds.observe(0.001)
    exposed = {
        sample.name
        for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())
        for sample in family.samples
    }
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"okno_[a-z_]+", target["expr"])
    }
    assert used and used <= exposed, used - exposed


async def test_a_status_no_ticket_has_any_more_shows_zero_not_its_old_count() -> None:
    metrics = Metrics()
    now = datetime.now(UTC)
    snapshots = iter([({}, {"new": 3, "in_progress": 1}, 0), ({}, {"in_progress": 2}, 0)])

    async def snapshot() -> tuple[dict[str, tuple[int, datetime | None]], dict[str, int], int]:
        return next(snapshots)

    await metrics.render(snapshot, now)
    text = (await metrics.render(snapshot, now)).decode()
    found = {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "okno_tickets"
    }
    assert found == {"new": 0, "in_progress": 2}
