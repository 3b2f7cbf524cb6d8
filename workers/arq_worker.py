"""arq workers: a cron tick finds due work in the database; Redis carries the jobs.

The database is the source of truth: the tick queues reminders, SLA breaches, nudges
and outcome prompts into the outbox, then enqueues one `deliver` job per due row with
the job id `outbox:<row id>` — arq refuses a second job with an id that is queued or
running, and the row claim (bot.delivery.outbox.claim) stops two workers sending one row even
if Redis was flushed in between. Flushing or restarting Redis loses nothing: the next
tick finds every due row again.

A second cron job, `urgent`, records SLA breaches every second and sends the urgent rows
(bot.delivery.outbox.URGENT_KINDS) itself, within the job: an escalation never queues behind
the reminders' delivery jobs. The tick enqueues about two seconds of sending at a time, so
the queue stays short enough for the cron jobs to start on time.

This module is the only one that knows arq (it is in maintenance mode upstream), so
it stays replaceable. Run: `python -m bot worker` (or `arq workers.arq_worker.WorkerSettings`).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import time
from typing import Any, ClassVar

from aiogram import Bot
from arq import Worker, cron, func
from arq.connections import RedisSettings

from bot.ai.factory import greeter, reviewer
from bot.clock import Clock, SystemClock
from bot.config import BusinessConfig, load_config
from bot.db import close_db, init_db
from bot.delivery.lanes import deliver_for, wait_for_chat
from bot.delivery.outbox import claim, deliver, due_ids, release
from bot.delivery.ratelimit import RedisRateLimiter
from bot.i18n import Texts
from bot.settings import Settings, load_settings
from handlers.crm import build_crm
from handlers.registry import ChannelDeps, build_channels, payment_work
from handlers.telegram import make_bot
from workers.crm_jobs import crm_sync
from workers.timed import TimedWork

log = logging.getLogger("priyom.worker")
BATCH = 500  # delivery jobs enqueued per tick at most
QUEUED_SECONDS = 2  # …and no more than this many seconds of sending at the bot's pace
URGENT_BUDGET = 1.0  # seconds the urgent job sends for
CHAT_WAIT = 2.0  # seconds a delivery job waits for its chat's gap before it lets go


async def tick(ctx: dict[str, Any]) -> int:
    """Queue what became due, and a delivery job per due outbox row, about two seconds of
    sending at a time (the cron jobs queue behind them)."""
    work: TimedWork = ctx["work"]
    await work.run()
    settings: Settings = ctx["settings"]
    batch = min(BATCH, max(1, int(settings.outbox_rate_per_second * QUEUED_SECONDS)))
    queued = 0
    for row_id in await due_ids(work.clock.now(), batch):
        job = await ctx["redis"].enqueue_job("deliver_row", row_id, _job_id=f"outbox:{row_id}")
        queued += job is not None
    return queued


async def deliver_row(ctx: dict[str, Any], row_id: int) -> bool:
    clock: Clock = ctx["work"].clock
    # the claim covers the wait for the chat and then the send (OUTBOX_CLAIM_SECONDS)
    row = await claim(row_id, clock.now(), ctx["settings"].outbox_claim_seconds + CHAT_WAIT)
    if row is None:  # another worker has it, or it is done
        return False
    if not await wait_for_chat(ctx["limiter"], row, time.monotonic() + CHAT_WAIT):
        await release(row)  # the chat is still busy; a later tick brings it back
        return False
    return await deliver(ctx["sender"], row, clock)


async def urgent(ctx: dict[str, Any]) -> int:
    """Record SLA breaches and send the urgent rows, every second, apart from the tick."""
    work: TimedWork = ctx["work"]
    await work.urgent()
    # a row may wait within the pass, then be sent: a killed worker's claims lapse after
    # that (a claim that lapsed mid-send would let another worker send a copy)
    claim_seconds = ctx["settings"].outbox_claim_seconds + URGENT_BUDGET
    return await deliver_for(
        ctx["sender"],
        work.clock,
        URGENT_BUDGET,
        ctx["limiter"],
        urgent=True,
        claim_seconds=claim_seconds,
    )


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
    crm = build_crm(settings, clock)
    crm_alert = dt.timedelta(minutes=settings.crm_alert_minutes) if crm is not None else None
    return {
        "settings": settings,
        "work": TimedWork(
            config,
            texts,
            clock,
            owners,
            greeter(settings, config, clock),
            reviewer=reviewer(settings, config, texts, clock),
            crm_alert_after=crm_alert,
            payments=payment_work(settings, config, texts),
        ),
        "crm": crm,
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
    if ctx.get("crm") is not None:
        await ctx["crm"].close()
    if ctx["work"].payments is not None:
        await ctx["work"].payments.gateway.close()
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
        "job_timeout": settings.outbox_claim_seconds + CHAT_WAIT,  # a delivery job's claim
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
        *(
            cron(
                job,
                name=job.__name__,
                second=set(range(60)),
                unique=True,
                run_at_startup=True,
                keep_result=0,
            )
            for job in (urgent, tick)
        ),
        cron(crm_sync, name="crm_sync", second=set(range(0, 60, 2)), unique=True, keep_result=0),
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
