"""arq workers: a cron tick finds due work in the database; Redis carries the jobs.

The database is the source of truth: the tick queues reminders, SLA breaches, nudges
and outcome prompts into the outbox, then enqueues one `deliver` job per due row with
the job id `outbox:<row id>` — arq refuses a second job with an id that is queued or
running, and the row claim (bot.delivery.outbox.claim) stops two workers sending one row even
if Redis was flushed in between. Flushing or restarting Redis loses nothing: the next
tick finds every due row again.

This module is the only one that knows arq (it is in maintenance mode upstream), so
it stays replaceable. Run: `python -m bot worker` (or `arq workers.arq_worker.WorkerSettings`).
"""

from __future__ import annotations

import copy
import logging
import os
from typing import Any, ClassVar

from aiogram import Bot
from arq import Worker, cron, func
from arq.connections import RedisSettings

from bot.ai.factory import greeter
from bot.clock import Clock, SystemClock
from bot.config import BusinessConfig, load_config
from bot.db import close_db, init_db
from bot.delivery.outbox import claim, deliver, due_ids, release
from bot.delivery.ratelimit import RedisRateLimiter
from bot.i18n import Texts
from bot.settings import Settings, load_settings
from handlers.registry import ChannelDeps, build_channels
from handlers.telegram import make_bot
from workers.timed import TimedWork

log = logging.getLogger("priyom.worker")
BATCH = 500


async def tick(ctx: dict[str, Any]) -> int:
    """Queue what became due, and a delivery job for every due outbox row."""
    work: TimedWork = ctx["work"]
    await work.run()
    queued = 0
    for row_id in await due_ids(work.clock.now(), BATCH):
        job = await ctx["redis"].enqueue_job("deliver_row", row_id, _job_id=f"outbox:{row_id}")
        queued += job is not None
    return queued


async def deliver_row(ctx: dict[str, Any], row_id: int) -> bool:
    clock: Clock = ctx["work"].clock
    row = await claim(row_id, clock.now(), ctx["settings"].outbox_claim_seconds)
    if row is None:  # another worker has it, or it is done
        return False
    if not await ctx["limiter"].acquire(row.bot, row.chat_id):
        await release(row)  # the chat must wait a moment; a later tick brings it back
        return False
    return await deliver(ctx["sender"], row, clock)


def bots_from(settings: Settings) -> dict[str, Bot]:
    bots = {}
    if settings.bot_token:
        bots["client"] = make_bot(settings.bot_token, settings.telegram_api_url)
    if settings.staff_bot_token:
        bots["staff"] = make_bot(settings.staff_bot_token, settings.telegram_api_url)
    return bots


def worker_context(
    settings: Settings, config: BusinessConfig, clock: Clock, bots: dict[str, Bot]
) -> dict[str, Any]:
    owners = frozenset(settings.owner_ids) | frozenset(config.business.owners)
    texts = Texts(config.business.locale)
    channels = build_channels(settings, ChannelDeps(texts, clock, bots=bots))
    return {
        "settings": settings,
        "work": TimedWork(config, texts, clock, owners, greeter(settings, config, clock)),
        "sender": channels,
        "bots": bots,
        "channels": channels,
    }


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    ctx["limiter"] = RedisRateLimiter(
        ctx["redis"], settings.outbox_rate_per_second, settings.outbox_chat_interval
    )
    await init_db(settings.database_url, settings.run_migrations)  # false: `bot migrate` did it


async def shutdown(ctx: dict[str, Any]) -> None:
    for bot in ctx["bots"].values():
        await bot.session.close()
    await ctx["channels"].close()
    await close_db()


def build_worker(
    settings: Settings,
    config: BusinessConfig,
    clock: Clock | None = None,
    bots: dict[str, Bot] | None = None,
    **options: Any,
) -> Worker:
    """A Worker with our jobs; tests pass a fake clock, local bots and burst=True."""
    ctx = worker_context(settings, config, clock or SystemClock(), bots or bots_from(settings))
    defaults: dict[str, Any] = {
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "max_jobs": 50,
        "keep_result": 0,
        "handle_signals": True,
        # A worker killed mid-job leaves the job's id taken until its in-progress mark
        # expires (the longest job timeout + 10 s): no longer than a row's claim.
        "job_timeout": settings.outbox_claim_seconds,
    }
    return Worker(
        functions=list(WorkerSettings.functions),
        # A CronJob remembers its next run: each Worker gets its own copy.
        cron_jobs=[copy.copy(job) for job in WorkerSettings.cron_jobs],
        on_startup=startup,
        on_shutdown=shutdown,
        ctx=ctx,
        **(defaults | options),
    )


class WorkerSettings:
    """The one list of jobs and cron jobs: the `arq` command line reads it (settings from
    the environment), `build_worker` builds every other worker from it."""

    functions: ClassVar = [func(deliver_row, name="deliver_row", max_tries=1, keep_result=0)]
    cron_jobs: ClassVar = [
        cron(
            tick,
            name="tick",
            second=set(range(60)),
            unique=True,
            run_at_startup=True,
            keep_result=0,
        )
    ]
    redis_settings = RedisSettings.from_dsn(os.environ.get("REDIS_URL") or "redis://localhost")
    on_shutdown = shutdown
    keep_result = 0

    @staticmethod
    async def on_startup(ctx: dict[str, Any]) -> None:
        settings = load_settings()
        config = load_config(settings.business_config)
        ctx.update(worker_context(settings, config, SystemClock(), bots_from(settings)))
        await startup(ctx)
