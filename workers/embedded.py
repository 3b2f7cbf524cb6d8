"""Timed work inside the bot process, for the embedded default (no Redis).

One tick finds due work in the database: outbox delivery and «Пришёл / Неявка»
prompts. The database is the source of truth, so ticks in several processes are
safe: rows are claimed, prompts are unique.
"""

from __future__ import annotations

import asyncio
import logging

from bot.clock import Clock
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.outbox import Sender, deliver_due
from bot.outcomes import prompt_outcomes

log = logging.getLogger("priyom.worker")


async def tick(
    sender: Sender, clock: Clock, config: BusinessConfig, texts: Texts, owner_ids: frozenset[int]
) -> int:
    await prompt_outcomes(config, texts, owner_ids, clock.now())
    return await deliver_due(sender, clock)


async def run_forever(
    sender: Sender,
    clock: Clock,
    config: BusinessConfig,
    texts: Texts,
    owner_ids: frozenset[int],
    interval: float = 1.0,
) -> None:
    while True:
        try:
            while await tick(sender, clock, config, texts, owner_ids):
                pass  # more may be due: keep going without waiting
        except Exception:  # a bad row or a DB hiccup must not stop timed work
            log.exception("tick_failed")
        await asyncio.sleep(interval)
