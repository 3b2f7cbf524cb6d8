"""Timed work inside the bot process, for the embedded default (no Redis).

Two loops share the process. The urgent one, each second: the SLA check, then the staff
messages and dialogue replies that must not wait (bot.delivery.outbox.URGENT_KINDS). The
main one: reminders, nudges, reports and the rest, then delivery of the other kinds for a
few seconds. So a backlog of 10,000 reminders, or the scan that queues them, never holds
up an escalation. The database is the source of truth, so both may run in several processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.delivery.lanes import deliver_for
from bot.delivery.outbox import Sender
from bot.delivery.ratelimit import RateLimiter
from workers.timed import TimedWork

log = logging.getLogger("priyom.worker")

URGENT_BUDGET = 1.0
"""Seconds the urgent loop delivers for before it looks for new SLA breaches again."""
MAIN_BUDGET = 5.0
"""Seconds the main loop delivers for between two looks for due work (reminders are looked
for every 30 s, nudges and reports are due in minutes: a longer pass costs them nothing)."""


async def urgent_tick(
    work: TimedWork, sender: Sender, limiter: RateLimiter | None = None, budget: float = 1.0
) -> int:
    """Record SLA breaches, then send urgent rows for up to `budget` seconds."""
    await work.urgent()
    return await deliver_for(sender, work.clock, budget, limiter, urgent=True)


async def main_tick(
    work: TimedWork, sender: Sender, limiter: RateLimiter | None = None, budget: float = 1.0
) -> int:
    """Queue what else became due, then send the rows of other kinds than the urgent loop's
    for up to `budget` seconds (two passes never wait for one chat's gap: the order)."""
    await work.run()
    return await deliver_for(sender, work.clock, budget, limiter, urgent=False)


async def tick(
    work: TimedWork, sender: Sender, limiter: RateLimiter | None = None, budget: float = 1.0
) -> int:
    """Both loops' work once, one after the other (tests and benches step time with it)."""
    await work.urgent()
    await work.run()
    return await deliver_for(sender, work.clock, budget, limiter)


Step = Callable[[], Awaitable[int]]


async def _loop(name: str, step: Step, interval: float) -> None:
    while True:
        try:
            if await step():
                continue  # a backlog: look again at once
        except Exception:  # a bad row or a database hiccup must not stop timed work
            log.exception("tick_failed", extra={"loop": name})
        await asyncio.sleep(interval)


async def run_forever(
    work: TimedWork, sender: Sender, limiter: RateLimiter | None = None, interval: float = 1.0
) -> None:
    """The urgent and the main loop, until cancelled."""
    await asyncio.gather(
        _loop("urgent", lambda: urgent_tick(work, sender, limiter, URGENT_BUDGET), interval),
        _loop("main", lambda: main_tick(work, sender, limiter, MAIN_BUDGET), interval),
    )
