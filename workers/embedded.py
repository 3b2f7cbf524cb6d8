"""Timed work inside the bot process, for the embedded default (no Redis).

Each second: queue what became due, then deliver the outbox within the rate limits.
The database is the source of truth, so this loop may also run in several processes.
"""

from __future__ import annotations

import asyncio
import logging

from bot.outbox import Sender, deliver_due
from bot.ratelimit import RateLimiter
from workers.timed import TimedWork

log = logging.getLogger("priyom.worker")


async def tick(work: TimedWork, sender: Sender, limiter: RateLimiter | None = None) -> int:
    await work.run()
    return await deliver_due(sender, work.clock, limiter=limiter)


async def run_forever(
    work: TimedWork, sender: Sender, limiter: RateLimiter | None = None, interval: float = 1.0
) -> None:
    while True:
        try:
            while await tick(work, sender, limiter):
                pass  # more may be due: keep going without waiting
        except Exception:  # a bad row or a database hiccup must not stop timed work
            log.exception("tick_failed")
        await asyncio.sleep(interval)
