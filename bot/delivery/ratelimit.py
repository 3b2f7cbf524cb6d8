"""Sending limits: a pace per bot (Telegram allows ~30 msg/s) and a gap per chat (~1 msg/s).

`LocalRateLimiter` paces one process; `RedisRateLimiter` shares the limits between
worker processes through Redis, so N workers together stay under the bot's limit.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from aiolimiter import AsyncLimiter


class RateLimiter(Protocol):
    async def acquire(self, bot: str, chat_id: str) -> bool:
        """Wait for the bot's pace; False (at once) when this chat must wait a moment."""
        ...


class _NoLimit:
    async def acquire(self, bot: str, chat_id: str) -> bool:
        return True


NO_LIMIT: RateLimiter = _NoLimit()


class LocalRateLimiter:
    def __init__(self, per_second: float, chat_interval: float, *, smooth: bool = False) -> None:
        self.per_second = per_second
        self.chat_interval = chat_interval
        # smooth: one request per 1/per_second, no burst, for APIs that count any second
        self.smooth = smooth
        self._bots: dict[str, AsyncLimiter] = {}
        self._chats: dict[tuple[str, str], float] = {}

    async def acquire(self, bot: str, chat_id: str) -> bool:
        now = time.monotonic()
        key = (bot, chat_id)
        if now - self._chats.get(key, -1e9) < self.chat_interval:
            return False
        self._chats[key] = now
        if len(self._chats) > 50_000:  # forget chats idle for longer than the gap
            self._chats = {k: v for k, v in self._chats.items() if now - v < self.chat_interval}
        limiter = self._bots.get(bot)
        if limiter is None:
            limiter = self._bots[bot] = (
                AsyncLimiter(1, 1 / self.per_second)
                if self.smooth
                else AsyncLimiter(self.per_second, 1)
            )
        await limiter.acquire()
        return True


class RedisRateLimiter:
    """Fixed one-second windows per bot and a short-lived key per chat, in Redis."""

    def __init__(
        self, redis, per_second: float, chat_interval: float, prefix: str = "priyom:rl"
    ) -> None:
        self.redis = redis
        self.per_second = int(per_second)
        self.chat_interval_ms = int(chat_interval * 1000)
        self.prefix = prefix

    async def acquire(self, bot: str, chat_id: str) -> bool:
        if self.chat_interval_ms and not await self.redis.set(
            f"{self.prefix}:chat:{bot}:{chat_id}", 1, nx=True, px=self.chat_interval_ms
        ):
            return False
        while True:
            now = time.time()
            window = int(now)
            key = f"{self.prefix}:bot:{bot}:{window}"
            count = await self.redis.incr(key)
            if count == 1:
                await self.redis.expire(key, 5)
            if count <= self.per_second:
                return True
            await asyncio.sleep(window + 1 - now)
