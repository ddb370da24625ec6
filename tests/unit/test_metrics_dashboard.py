"""The sample Grafana dashboard plots only metrics Okno exposes."""

from __future__ import annotations

import json
import re
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
