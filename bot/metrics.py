"""Prometheus metrics: every family in one place, incremented by one-line calls elsewhere.

The outbox gauges are not kept in memory: `/metrics` reads them from the database at scrape
time (bot/health.py), so every instance reports the shared backlog, not its own guess.
"""

from __future__ import annotations

import functools
import time

from prometheus_client import Counter, Gauge, Histogram

UPDATES = Counter(
    "priyom_updates_handled_total", "Client messages handled by the dialogue", ["channel"]
)
LATENCY = Histogram(
    "priyom_update_seconds",
    "Time to handle one client message, its replies included",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
)
SENT = Counter("priyom_messages_sent_total", "Outbox messages delivered", ["channel", "bot"])
FAILED = Counter(
    "priyom_messages_failed_total", "Outbox messages given up on (dead)", ["channel", "bot"]
)
OUTBOX_BACKLOG = Gauge("priyom_outbox_backlog", "Outbox rows due now and not yet sent")
OUTBOX_OLDEST = Gauge(
    "priyom_outbox_oldest_due_seconds", "How long the oldest due outbox row has waited"
)
SLA_BREACHES = Counter("priyom_sla_breaches_total", "SLA deadlines missed", ["kind"])
MODEL_CALLS = Counter("priyom_model_calls_total", "Model calls by outcome", ["purpose", "outcome"])
MODEL_FALLBACKS = Counter(
    "priyom_model_fallbacks_total", "Model calls whose answer the rules replaced", ["purpose"]
)


class handling:
    """Count one handled message and time it (a monotonic timer: latency, not a date).
    A class, not a generator: this wraps every update."""

    __slots__ = ("children", "started")

    def __init__(self, channel: str) -> None:
        self.children = _per_channel(channel)

    async def __aenter__(self) -> None:
        self.started = time.perf_counter()

    async def __aexit__(self, *exc_info: object) -> None:
        updates, latency = self.children
        updates.inc()
        latency.observe(time.perf_counter() - self.started)


@functools.cache
def _per_channel(channel: str) -> tuple[Counter, Histogram]:
    """The channel's children, looked up once (`labels()` takes a lock and builds a key on
    every call); a child stays valid while its family lives, and the families never go."""
    return UPDATES.labels(channel), LATENCY.labels(channel)


def delivered(channel: str, bot: str, ok: bool) -> None:
    _delivered(channel, bot, ok).inc()


@functools.cache
def _delivered(channel: str, bot: str, ok: bool) -> Counter:
    """A channel's and bot's sent (or dead) counter, looked up once, as `_per_channel`."""
    return (SENT if ok else FAILED).labels(channel, bot)


def model_call(purpose: str, outcome: str, fell_back: bool) -> None:
    MODEL_CALLS.labels(purpose, outcome.partition(":")[0]).inc()
    if fell_back:
        MODEL_FALLBACKS.labels(purpose).inc()
