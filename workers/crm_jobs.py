"""CRM sync as timed work: passes over the sync queue (bot/crm/sync.py), in the bot process
(embedded default) or as an arq cron job. The queue is in the database, so any number of
processes may run passes; a claimed task is sent by one of them."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from bot.clock import Clock
from bot.crm.port import CrmPort
from bot.crm.sync import sync_due

log = logging.getLogger("priyom.crm")
INTERVAL = 2.0  # seconds between passes when the queue is empty


async def sync_for(port: CrmPort, clock: Clock, budget: float = 10.0) -> int:
    """Passes until nothing is due or `budget` seconds are spent; tasks done."""
    done, until = 0, time.monotonic() + budget
    while time.monotonic() < until:
        batch = await sync_due(port, clock)
        done += batch
        if not batch:
            break
    return done


async def run_forever(port: CrmPort, clock: Clock, interval: float = INTERVAL) -> None:
    while True:
        try:
            await sync_for(port, clock)
        except Exception:  # a bad row or a database hiccup must not stop the sync
            log.exception("crm_sync_failed")
        await asyncio.sleep(interval)


async def crm_sync(ctx: dict[str, Any]) -> int:
    """The arq job: one bounded run of passes (the cron brings the next)."""
    port: CrmPort | None = ctx.get("crm")
    return await sync_for(port, ctx["work"].clock) if port is not None else 0
