"""Assembly: settings + config + database → the running bots and the timed work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiogram import Bot, Dispatcher

from admin_bot.context import StaffContext
from bot.ai.factory import assistant, model_client
from bot.ai.reminder import Greeter
from bot.clock import Clock, SystemClock
from bot.config import BusinessConfig
from bot.db import close_db, init_db
from bot.dialogs import DialogService
from bot.health import Ops
from bot.i18n import Texts
from bot.ratelimit import LocalRateLimiter
from bot.settings import Settings
from handlers.registry import ChannelDeps, build_channels, serve
from handlers.telegram import TelegramClientBot, client_commands, make_bot
from handlers.telegram_webhook import telegram_webhooks
from workers import embedded
from workers.timed import TimedWork

log = logging.getLogger("priyom")


def build_dispatcher(dialogs: DialogService) -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.include_router(TelegramClientBot(dialogs).router)
    return dispatcher


def build_staff_dispatcher(staff: StaffContext) -> Dispatcher:
    """The staff bot: team management, lead work, and the refusal of everyone else (last)."""
    from admin_bot.access import refusal_router
    from admin_bot.ask import ai_router
    from admin_bot.leads import leads_router
    from admin_bot.money import money_router
    from admin_bot.reports import reports_router
    from admin_bot.team import team_router

    dispatcher = Dispatcher()
    dispatcher["staff"] = staff
    dispatcher.include_routers(
        team_router(),
        leads_router(),
        reports_router(),
        money_router(),
        ai_router(),
        refusal_router(),
    )
    return dispatcher


async def run_bot(settings: Settings, config: BusinessConfig, clock: Clock | None = None) -> None:
    """Both bots (long polling, or webhooks) plus the embedded timed work, until SIGTERM."""
    clock = clock or SystemClock()
    await init_db(settings.database_url, migrate=settings.run_migrations)
    owners = frozenset(settings.owner_ids)
    ai = model_client(settings, config, clock)
    texts = Texts(config.business.locale)
    understander = assistant(settings, config, texts, ai)
    dialogs = DialogService(config, clock, texts, owner_ids=owners, understander=understander)
    bots: dict[str, Bot] = {}
    polling = []
    client_bot = None
    if settings.bot_token:
        client_bot = make_bot(settings.bot_token, settings.telegram_api_url)
        bots["client"] = client_bot
        polling.append((build_dispatcher(dialogs), client_bot))
    if settings.staff_bot_token:
        staff_bot = make_bot(settings.staff_bot_token, settings.telegram_api_url)
        staff = StaffContext.create(config, clock, settings.owner_ids, client_bot)
        staff.extra["ai"] = ai
        bots["staff"] = staff_bot
        polling.append((build_staff_dispatcher(staff), staff_bot))
    channels = build_channels(settings, ChannelDeps(dialogs.texts, clock, dialogs, bots))
    if settings.staff_bot_token:
        staff.extra["outbox"] = channels  # a manager's relay is sent right after its commit
    if client_bot is not None:
        await client_bot.set_my_commands(client_commands(dialogs.texts))
    webhooks = telegram_webhooks(settings, dict(zip(bots, polling, strict=True)))
    polling = [] if webhooks.hooks else polling
    tasks = [
        asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=True))
        for dp, bot in polling
    ]
    web_runner = await serve(settings, channels, Ops(settings, clock).register, webhooks.register)
    await webhooks.set_all()
    tasks += [asyncio.create_task(receive) for receive in channels.receivers()]
    if settings.redis_url:
        log.info("timed_work_in_arq_workers", extra={"redis": settings.redis_url})
    else:  # the embedded default: no Redis, the same tick runs here
        greeter = Greeter(ai) if ai else None
        work = TimedWork(config, dialogs.texts, clock, dialogs.owner_ids, greeter)
        limiter = LocalRateLimiter(settings.outbox_rate_per_second, settings.outbox_chat_interval)
        tasks.append(asyncio.create_task(embedded.run_forever(work, channels, limiter)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "started",
        extra={
            "business": config.business.name,
            "bots": ",".join(bots),
            "channels": ",".join(channels),
        },
    )
    try:
        await stop.wait()
    finally:
        for dp, _ in polling:
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if web_runner is not None:
            await web_runner.cleanup()
        await channels.close()
        if ai is not None:
            await ai.close()
        await close_db()
        log.info("stopped")
