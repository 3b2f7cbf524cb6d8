"""Sending limits: a pace per bot (Telegram allows ~30 msg/s) and a gap per chat (~1 msg/s).

`LocalRateLimiter` paces one process; `RedisRateLimiter` shares the limits between
processes through Redis — the workers and, with REDIS_URL set, every bot instance's own
sends (handlers.telegram_pace) — so N processes together stay under the bot's limit.

`acquire` is for pushes (reminders, alerts): a chat that got a message less than the gap
ago waits for a later pass. `pace` is for answers sent right away (a step's replies, a
manager's relay): they wait for the bot's pace only — a person who just wrote gets the
two or three answers at once, as Telegram allows — and mark the chat, so a push after
them keeps its gap.
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

    async def pace(self, bot: str, chat_id: str) -> None:
        """Wait for the bot's pace only, and count the send against the chat's gap."""
        ...


class _NoLimit:
    async def acquire(self, bot: str, chat_id: str) -> bool:
        return True

    async def pace(self, bot: str, chat_id: str) -> None:
        return None


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
        await self.pace(bot, chat_id)
        return True

    async def pace(self, bot: str, chat_id: str) -> None:
        now = time.monotonic()
        self._chats[(bot, chat_id)] = now
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
            self._chat(bot, chat_id), 1, nx=True, px=self.chat_interval_ms
        ):
            return False
        await self._turn(bot)
        return True

    async def pace(self, bot: str, chat_id: str) -> None:
        await self._turn(bot, self._chat(bot, chat_id) if self.chat_interval_ms else None)

    def _chat(self, bot: str, chat_id: str) -> str:
        return f"{self.prefix}:chat:{bot}:{chat_id}"

    async def _turn(self, bot: str, mark_chat: str | None = None) -> None:
        """A place in the bot's current one-second window, else wait for the next one.
        The window's counter (and the chat's mark) cost one round trip."""
        while True:
            now = time.time()
            window = int(now)
            key = f"{self.prefix}:bot:{bot}:{window}"
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 5)
            if mark_chat is not None:
                pipe.set(mark_chat, 1, px=self.chat_interval_ms)
            count = (await pipe.execute())[0]
            if count <= self.per_second:
                return
            mark_chat = None
            await asyncio.sleep(window + 1 - now)
