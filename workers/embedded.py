"""Timed work inside the bot process, for the embedded default (no Redis).

Each second: queue what became due, then deliver the outbox within the rate limits.
The database is the source of truth, so this loop may also run in several processes.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.delivery.outbox import Sender, deliver_due
from bot.delivery.ratelimit import RateLimiter
from workers.timed import TimedWork

log = logging.getLogger("priyom.worker")


async def tick(
    work: TimedWork, sender: Sender, limiter: RateLimiter | None = None, budget: float = 1.0
) -> int:
    """Queue what became due, then deliver for up to `budget` seconds.

    The budget keeps a backlog (10,000 reminders at 25/s) from holding up the next
    look for SLA deadlines: escalations are queued within a second and sent first.
    """
    await work.run()
    sent, until = 0, time.monotonic() + budget
    while time.monotonic() < until:
        batch = await deliver_due(sender, work.clock, limiter=limiter)
        sent += batch
        if not batch:
            break
    return sent


async def run_forever(
    work: TimedWork, sender: Sender, limiter: RateLimiter | None = None, interval: float = 1.0
) -> None:
    while True:
        try:
            if await tick(work, sender, limiter):
                continue  # a backlog: look again at once
        except Exception:  # a bad row or a database hiccup must not stop timed work
            log.exception("tick_failed")
        await asyncio.sleep(interval)
