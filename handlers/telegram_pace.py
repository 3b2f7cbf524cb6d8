"""Telegram's sending limits in a bot instance: every message the process sends, whether a
step's direct answer or an outbox row sent right after its commit, waits for the bot's
shared pace (bot.delivery.ratelimit), so N instances and the workers together stay under
Telegram's ~30 messages a second per bot. Installed on the Bot's session (aiogram's
request middleware): no sending code needs to know about it."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.delivery.ratelimit import RateLimiter

SENDING = ("Send", "Copy", "Forward")
"""Methods that put a new message into a chat (sendMessage, sendPhoto, copyMessage, …)."""


class Pace(BaseRequestMiddleware):
    """Waits for the bot's turn before a method that sends a message."""

    def __init__(self, limiter: RateLimiter, name: str) -> None:
        self.limiter = limiter
        self.name = name  # the outbox's name for the bot ("client", "staff"): one shared pace

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = getattr(method, "chat_id", None)
        if chat_id is not None and type(method).__name__.startswith(SENDING):
            await self.limiter.pace(self.name, str(chat_id))
        return await make_request(bot, method)


def pace_bots(bots: dict[str, Bot], limiter: RateLimiter) -> None:
    """Put every bot's sends (keyed by the outbox's bot name) under the shared limiter."""
    for name, bot in bots.items():
        bot.session.middleware(Pace(limiter, name))
