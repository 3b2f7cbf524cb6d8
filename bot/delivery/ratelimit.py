"""Sending limits: a pace per bot (Telegram allows ~30 msg/s) and a gap per chat (~1 msg/s).

`LocalRateLimiter` paces one process; `RedisRateLimiter` shares the limits between
processes through Redis — the workers and, with REDIS_URL set, every bot instance's own
sends (handlers.telegram_pace) — so N processes together stay under the bot's limit: at most
rate + BURST sends in any one-second span (GCRA, see RedisRateLimiter).

`acquire` is for pushes (reminders, alerts): a chat that got a message less than the gap
ago waits for a later pass. `pace` is for answers sent right away (a step's replies, a
manager's relay): they wait for the bot's pace only — a person who just wrote gets the
two or three answers at once, as Telegram allows — and mark the chat, so a push after
them keeps its gap.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Protocol

from aiolimiter import AsyncLimiter
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.clock import Clock


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


BURST = 2
"""Sends a bot may make at once beyond its pace (a step's two or three answers go
together); any one-second span holds at most per_second + BURST."""

_GCRA = """
local now = ARGV[5]
if now == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(now)
end
if KEYS[2] then
  local gap = tonumber(ARGV[3])
  if ARGV[4] == '1' then
    if not redis.call('SET', KEYS[2], 1, 'NX', 'PX', gap) then return -1 end
  else
    redis.call('SET', KEYS[2], 1, 'PX', gap)
  end
end
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
local slot = math.max(tat - tonumber(ARGV[2]), now)
tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
return slot - now
"""
"""KEYS: the bot's TAT, the chat's mark (absent without a gap). ARGV: T and burst·T in µs,
the chat's gap in ms, 1 to check the gap (acquire) or 0 to mark it (pace), `now` in µs or
'' for Redis TIME. Returns the wait in µs until the send's slot, -1 if the chat must wait."""


class RedisRateLimiter:
    """The bot's pace as GCRA in Redis (one Lua script, one round trip per send) and a
    short-lived key per chat.

    GCRA keeps one number per bot, the theoretical arrival time (TAT): each send takes the
    slot max(now, TAT - burst·T) and moves TAT on by T = 1/rate. The slots it gives, to all
    processes together, put at most `per_second + burst` sends in ANY one-second span (the
    fixed one-second windows used before let 2·rate through across a window's edge). A send
    reserves its slot in the script and sleeps until it: no retries, no herd at a window's
    start, first come first served across processes. A sender cancelled while it waits
    leaves its slot unused (the pace only gets slower). The key expires when its TAT has
    passed, so an idle bot keeps no key; a flush or a restart of Redis forgets the TAT and
    the script (redis-py loads it again on NOSCRIPT): the pace starts afresh, at worst one
    burst early.

    Time is Redis's own (`TIME` in the script): one clock for every process on every host,
    and the script answers with a wait, not a moment, so no host's clock skew shifts a
    slot. Tests pass `clock` (bot.clock) instead: the script then takes its `now`, and a
    waiting send waits for that clock to reach its slot.
    """

    def __init__(
        self,
        redis,
        per_second: float,
        chat_interval: float,
        prefix: str = "priyom:rl",
        *,
        burst: int = BURST,
        clock: Clock | None = None,
    ) -> None:
        self.redis = redis
        self.per_second = per_second
        self.chat_interval_ms = int(chat_interval * 1000)
        self.prefix = prefix
        self.interval_us = math.ceil(1_000_000 / per_second)  # rounded up: never above rate
        self.burst = burst
        self.clock = clock
        self._script = redis.register_script(_GCRA)

    async def acquire(self, bot: str, chat_id: str) -> bool:
        """The chat's gap is checked (SET NX PX) and the bot's slot taken in one script:
        a chat inside its gap is refused at once and takes no slot."""
        return await self._turn(bot, chat_id, check_gap=True)

    async def pace(self, bot: str, chat_id: str) -> None:
        """The chat is marked (SET PX, whatever its gap) and the bot's slot taken."""
        await self._turn(bot, chat_id, check_gap=False)

    def _chat(self, bot: str, chat_id: str) -> str:
        return f"{self.prefix}:chat:{bot}:{chat_id}"

    async def _turn(self, bot: str, chat_id: str, *, check_gap: bool) -> bool:
        """Take the bot's next slot (and see to the chat), then sleep until the slot."""
        keys = [f"{self.prefix}:pace:{bot}"]
        if self.chat_interval_ms:
            keys.append(self._chat(bot, chat_id))
        now = "" if self.clock is None else str(int(self._seconds() * 1_000_000))
        args = [self.interval_us, self.burst * self.interval_us, self.chat_interval_ms]
        wait_us = await self._reserve(keys, [*args, int(check_gap), now])
        if wait_us < 0:
            return False
        if wait_us:
            await self._until(self._seconds() + wait_us / 1_000_000)
        return True

    async def _reserve(self, keys: list[str], args: list) -> int:
        """The script's answer, asked once more on a dropped connection: a restarted Redis
        drops them all and the pool connects again. An outage still raises. (Had the lost
        call reached Redis, its slot goes unused and a push's own mark sends it to a later
        pass: slower, never faster.)"""
        try:
            return await self._script(keys, args)
        except RedisConnectionError:
            return await self._script(keys, args)

    def _seconds(self) -> float:
        """The injected clock, else the event loop's (a wait from Redis is a duration)."""
        if self.clock is None:
            return asyncio.get_running_loop().time()
        return self.clock.now().timestamp()

    async def _until(self, slot: float) -> None:
        """Sleep until the slot: once on the real clock; a test's clock is looked at again
        after each sleep, so a send waits until the test moves it."""
        while (left := slot - self._seconds()) > 0:
            await asyncio.sleep(left)
