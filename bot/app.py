"""Assembly: settings + config + database → the running client bot."""

from __future__ import annotations

import logging

from aiogram import Dispatcher

from bot.clock import Clock, SystemClock
from bot.config import BusinessConfig
from bot.db import close_db, init_db
from bot.dialogs import DialogService
from bot.settings import Settings
from handlers.telegram import TelegramClientBot, client_commands, make_bot

log = logging.getLogger("priyom")


def build_dispatcher(dialogs: DialogService) -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.include_router(TelegramClientBot(dialogs).router)
    return dispatcher


async def run_bot(settings: Settings, config: BusinessConfig, clock: Clock | None = None) -> None:
    """Long polling until SIGINT/SIGTERM; the database is migrated first."""
    await init_db(settings.database_url)
    dialogs = DialogService(config, clock or SystemClock())
    bot = make_bot(settings.bot_token, settings.telegram_api_url)
    dispatcher = build_dispatcher(dialogs)
    try:
        await bot.set_my_commands(client_commands(dialogs.texts))
        log.info("client_bot_started", extra={"business": config.business.name})
        await dispatcher.start_polling(bot, handle_signals=True, close_bot_session=True)
    finally:
        await close_db()
