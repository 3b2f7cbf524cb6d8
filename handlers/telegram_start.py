"""Is Telegram taking our token? getMe at start: a refusal stops the process with one line,
an unreachable Bot API is retried with a capped backoff (a log line per attempt)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.settings import SettingsError

log = logging.getLogger("priyom.start")
FIRST_DELAY, MAX_DELAY = 1.0, 60.0  # seconds between getMe attempts while unreachable
TRANSIENT = (TelegramNetworkError, TelegramServerError, TelegramRetryAfter, TimeoutError)


class TokenRefused(SettingsError):
    """Telegram answered that the token is not (or no longer) a bot's token."""


def refusal(setting: str) -> TokenRefused:
    return TokenRefused(
        f"{setting}: Telegram refused the token (401 Unauthorized); "
        "revoked or mistyped? Get the current one from @BotFather"
    )


async def accepted(setting: str, bot: Bot) -> bool:
    """True when Telegram knows the token, False when it cannot be reached now."""
    try:
        await bot.get_me()
    except TelegramUnauthorizedError:
        raise refusal(setting) from None
    except TelegramNotFound:
        raise TokenRefused(
            f"{setting}: Telegram does not know the token (404 Not Found); check it in @BotFather"
        ) from None
    except TRANSIENT as exc:
        # aiogram's text may quote the request URL, token and all: bot/logs.py scrubs it
        log.info("telegram_get_me_failed", extra={"setting": setting, "error": str(exc)[:300]})
        return False
    return True


async def wait_until_accepted(setting: str, bot: Bot, stop: asyncio.Event) -> bool:
    """Retry getMe until Telegram answers; False when the process is stopped first."""
    delay, attempt = FIRST_DELAY, 1
    while not await accepted(setting, bot):
        log.warning(
            "telegram_unreachable",
            extra={"setting": setting, "attempt": attempt, "retry_in": delay},
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return False
        delay, attempt = min(delay * 2, MAX_DELAY), attempt + 1
    if attempt > 1:
        log.info("telegram_reachable", extra={"setting": setting, "attempts": attempt})
    return True
