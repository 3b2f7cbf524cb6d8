"""Assembly: settings + config + database → the running bots and the timed work."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Sequence

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramUnauthorizedError
from redis.asyncio import Redis

from admin_bot.context import StaffContext
from bot.ai.factory import assistant, model_client
from bot.ai.reminder import Greeter
from bot.clock import Clock, SystemClock
from bot.coach.model_review import Reviewer
from bot.config import BusinessConfig
from bot.db import close_db, init_db
from bot.delivery.ratelimit import LocalRateLimiter, RedisRateLimiter
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.payments.holds import Checkout
from bot.settings import Settings
from bot.staffwork.intake import Intake
from handlers.calendar_feed import CalendarFeed
from handlers.crm import start_crm
from handlers.crm_webhook import crm_webhooks
from handlers.forms import Forms
from handlers.health import Ops
from handlers.registry import (
    ChannelDeps,
    build_channels,
    payment_notifications,
    payment_work,
    serve,
)
from handlers.telegram import TelegramClientBot, client_commands, make_bot
from handlers.telegram_dispatch import lean
from handlers.telegram_pace import pace_bots
from handlers.telegram_start import (
    TRANSIENT,
    TokenRefused,
    accepted,
    refusal,
    wait_until_accepted,
)
from handlers.telegram_webhook import telegram_webhooks
from handlers.telephony import Telephony
from workers import crm_jobs, embedded
from workers.timed import TimedWork

log = logging.getLogger("priyom")


def build_dispatcher(dialogs: DialogService) -> Dispatcher:
    """The client bot. Its state lives in the conversation row (bot.dialogs), never in
    aiogram's FSM: without it no FSM context is resolved per update. Lean: no middleware
    chain is rebuilt per update (handlers.telegram_dispatch)."""
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.include_router(TelegramClientBot(dialogs).router)
    return lean(dispatcher)


def build_staff_dispatcher(staff: StaffContext) -> Dispatcher:
    """The staff bot: team management, lead work, and the refusal of everyone else (last)."""
    from admin_bot.access import refusal_router
    from admin_bot.ask import ai_router
    from admin_bot.booking import booking_router
    from admin_bot.calendar import calendar_router
    from admin_bot.callbacks import callbacks_router
    from admin_bot.catalog import catalog_router
    from admin_bot.coach import setup as coach_router
    from admin_bot.deposits import deposits_router
    from admin_bot.forget import forget_router
    from admin_bot.leads import leads_router
    from admin_bot.money import money_router
    from admin_bot.receipts import once
    from admin_bot.reports import reports_router
    from admin_bot.schedule import schedule_router
    from admin_bot.team import team_router
    from admin_bot.timeoff import timeoff_router

    dispatcher = Dispatcher()
    dispatcher["staff"] = staff
    dispatcher.update.outer_middleware(once)  # a redelivered update is not handled again
    dispatcher.include_routers(
        team_router(),
        schedule_router(),  # before leads_router: its /today picture comes first
        catalog_router(),  # before leads_router: an owner's typed price is not a relay
        forget_router(),
        booking_router(),
        leads_router(),
        reports_router(),
        money_router(),
        coach_router(),
        deposits_router(),
        ai_router(),
        callbacks_router(),
        calendar_router(),
        timeoff_router(),
        refusal_router(),
    )
    return dispatcher


async def run_bot(
    settings: Settings,
    config: BusinessConfig,
    clock: Clock | None = None,
    warnings: Sequence[str] = (),
) -> None:
    """Both bots (long polling, or webhooks) plus the embedded timed work, until SIGTERM.

    A token Telegram refuses raises TokenRefused before anything starts (or, when Telegram
    was unreachable at start, once it answers); an unreachable Telegram is waited for.
    `warnings` (bot.startup's) are logged once the tokens are known to be good."""
    clock = clock or SystemClock()
    tokens = (("BOT_TOKEN", settings.bot_token), ("STAFF_BOT_TOKEN", settings.staff_bot_token))
    telegram_bots = {
        name: make_bot(token, settings.telegram_api_url) for name, token in tokens if token
    }
    try:
        reachable = {name: await accepted(name, bot) for name, bot in telegram_bots.items()}
    except TokenRefused:
        await asyncio.gather(*(bot.session.close() for bot in telegram_bots.values()))
        raise
    for warning in warnings:
        log.warning("check_warning", extra={"detail": warning})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await init_db(settings.database_url, migrate=settings.run_migrations)
    crm = await start_crm(settings, clock)
    owners = frozenset(settings.owner_ids)
    ai = model_client(settings, config, clock)
    texts = Texts(config.business.locale)
    understander = assistant(settings, config, texts, ai)
    checkout = Checkout.of(settings.payment_provider_token, settings.yookassa_shop_id, "telegram")
    dialogs = DialogService(
        config, clock, texts, owner_ids=owners, understander=understander, checkout=checkout
    )
    payments = payment_work(settings, config, texts)
    bots: dict[str, Bot] = {}
    polling = []
    client_bot = telegram_bots.get("BOT_TOKEN")
    if client_bot is not None:
        bots["client"] = client_bot
        polling.append(("BOT_TOKEN", build_dispatcher(dialogs), client_bot))
    if "STAFF_BOT_TOKEN" in telegram_bots:
        staff_bot = telegram_bots["STAFF_BOT_TOKEN"]
        staff = StaffContext.create(config, clock, settings.owner_ids, client_bot)
        staff.extra["ai"] = ai
        staff.extra["public_base_url"] = settings.public_base_url
        bots["staff"] = staff_bot
        polling.append(("STAFF_BOT_TOKEN", build_staff_dispatcher(staff), staff_bot))
    channels = build_channels(settings, ChannelDeps(dialogs.texts, clock, dialogs, bots))
    if settings.staff_bot_token:
        staff.extra["outbox"] = channels  # a manager's relay is sent right after its commit
    refused: list[TokenRefused] = []
    roles = {"BOT_TOKEN": "client", "STAFF_BOT_TOKEN": "staff"}
    webhooks = telegram_webhooks(settings, {roles[name]: (dp, bot) for name, dp, bot in polling})
    if webhooks.hooks:  # Telegram pushes the updates: nobody polls
        polling = []
        if client_bot is not None:
            with contextlib.suppress(*TRANSIENT):
                await client_bot.set_my_commands(client_commands(dialogs.texts))
    tasks = [
        asyncio.create_task(
            _poll(name, dp, bot, reachable[name], stop, refused, dialogs.texts, bot is client_bot)
        )
        for name, dp, bot in polling
    ]
    intake = Intake(config, clock, dialogs.texts, dialogs.owner_ids)  # forms and missed calls
    web_runner = await serve(
        settings,
        channels,
        Ops(settings, clock).register,
        webhooks.register,
        Forms(settings, intake, clock).register,
        Telephony(settings, intake).register,
        CalendarFeed(config, clock).register,
        *crm_webhooks(crm, settings, clock),
        payment_notifications(settings, payments, clock),
    )
    await webhooks.set_all()
    tasks += [asyncio.create_task(receive) for receive in channels.receivers()]
    shared = None
    if settings.redis_url:
        log.info("timed_work_in_arq_workers", extra={"redis": settings.redis_url})
        shared = _shared_limits(settings, bots)
    else:  # the embedded default: no Redis, the same tick runs here
        greeter = Greeter(ai) if ai else None
        reviewer = Reviewer(config, dialogs.texts, ai)
        crm_alert = dt.timedelta(minutes=settings.crm_alert_minutes) if crm else None
        work = TimedWork(
            config,
            dialogs.texts,
            clock,
            dialogs.owner_ids,
            greeter,
            reviewer=reviewer,
            crm_alert_after=crm_alert,
            payments=payments,
        )
        limiter = LocalRateLimiter(settings.outbox_rate_per_second, settings.outbox_chat_interval)
        tasks.append(asyncio.create_task(embedded.run_forever(work, channels, limiter)))
        if crm is not None:
            tasks.append(asyncio.create_task(crm_jobs.run_forever(crm, clock)))
    log.info(
        "started",
        extra={
            "business": config.business.name,
            "bots": ",".join(bots),
            "channels": ",".join(channels),
            "booking_mode": config.booking.mode,
        },
    )
    try:
        await stop.wait()
    finally:
        for _, dp, _ in polling:
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for bot in telegram_bots.values():  # a bot that never polled still has a session
            await bot.session.close()
        if web_runner is not None:
            await web_runner.cleanup()
        await channels.close()
        if crm is not None:
            await crm.close()
        if payments is not None:
            await payments.gateway.close()
        if shared is not None:
            await shared.aclose()
        if ai is not None:
            await ai.close()
        await close_db()
        log.info("stopped")
    if refused:
        raise refused[0]


def _shared_limits(settings: Settings, bots: dict[str, Bot]) -> Redis:
    """This instance's sends count against the limits the workers and the other instances
    share in Redis (bot.delivery.ratelimit); returns the Redis client to close."""
    redis = Redis.from_url(settings.redis_url)
    limiter = RedisRateLimiter(
        redis, settings.outbox_rate_per_second, settings.outbox_chat_interval
    )
    pace_bots(bots, limiter)
    return redis


async def _poll(
    name: str,
    dispatcher: Dispatcher,
    bot: Bot,
    reachable: bool,
    stop: asyncio.Event,
    refused: list[TokenRefused],
    texts: Texts,
    is_client: bool,
) -> None:
    """Wait for Telegram if it was unreachable at start, then poll; a refusal stops all."""
    try:
        if not reachable and not await wait_until_accepted(name, bot, stop):
            return
        if is_client:
            with contextlib.suppress(*TRANSIENT):  # the menu is a nicety; polling matters
                await bot.set_my_commands(client_commands(texts))
        try:
            await dispatcher.start_polling(bot, handle_signals=False, close_bot_session=True)
        except TelegramUnauthorizedError:  # revoked while running: stop, don't idle on
            raise refusal(name) from None
    except TokenRefused as exc:
        refused.append(exc)
        stop.set()
