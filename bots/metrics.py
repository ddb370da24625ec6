"""Prometheus metrics: what the workers count as they go, and the queues read at each scrape.

One registry per process (not prometheus-client's global one), so tests and several runtimes in
one process do not share counts. `/metrics` serves it in the text format."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger("okno.bots.metrics")

CONTENT_TYPE = CONTENT_TYPE_LATEST
QUEUES = ("inbox", "outbox", "handoff_jobs")

# the queues as the database has them now: (waiting, oldest waiting since) per queue, tickets by status
Snapshot = tuple[dict[str, tuple[int, datetime | None]], dict[str, int], int]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.received = Counter(
            "okno_updates_received",
            "Updates taken from the inbox by the worker",
            ["channel"],
            registry=registry,
        )
        self.handled = Counter(
            "okno_updates_handled",
            "Handled updates by the engine's outcome",
            ["channel", "outcome"],
            registry=registry,
        )
        self.sends = Counter(
            "okno_sends", "Replies sent, by channel and result", ["channel", "result"], registry=registry
        )
        self.engine_seconds = Histogram(
            "okno_engine_seconds",
            "Time the conversation engine takes for one update",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=registry,
        )
        self.queue_depth = Gauge("okno_queue_depth", "Items waiting, per queue", ["queue"], registry=registry)
        self.queue_age = Gauge(
            "okno_queue_oldest_seconds",
            "Age of the oldest waiting item, per queue",
            ["queue"],
            registry=registry,
        )
        self.tickets = Gauge("okno_tickets", "Tickets by status", ["status"], registry=registry)
        self._statuses: set[str] = set()  # once shown, a status stays, at 0 when no ticket has it
        self.dead_letters_kept = Gauge(
            "okno_dead_letters_kept", "Dead letters not yet retried or dropped", registry=registry
        )
        self.scrape_failures = Counter(
            "okno_metrics_read_failures", "Scrapes that could not read the database", registry=registry
        )

    async def render(self, snapshot: Callable[[], Awaitable[Snapshot]], now: datetime) -> bytes:
        """The metrics text, with the queues read from the database just now (when it answers)."""
        try:
            queues, tickets, dead = await snapshot()
        except Exception:  # noqa: BLE001 - a database away must not make /metrics fail: the counters still tell
            logger.warning("metrics: the database could not be read for the queue figures")
            self.scrape_failures.inc()
        else:
            for name in QUEUES:
                depth, oldest = queues.get(name, (0, None))
                self.queue_depth.labels(name).set(depth)
                self.queue_age.labels(name).set((now - oldest).total_seconds() if oldest is not None else 0)
            self._statuses |= set(tickets)
            for status in self._statuses:
                self.tickets.labels(status).set(tickets.get(status, 0))
            self.dead_letters_kept.set(dead)
        return generate_latest(self.registry)
