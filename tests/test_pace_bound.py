"""The bot's pace shared through Redis (bot.delivery.ratelimit.RedisRateLimiter) is a real
bound: several processes (several limiter objects, each on its own connection) together put
at most RATE + BURST sends into any one-second span, wherever the span starts."""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest
from redis.asyncio import Redis

from bot.delivery.ratelimit import BURST, RedisRateLimiter
from tests.conftest import _free_port, start_redis_server

RATE = 10
SEEN_LATE = 0.005
"""A send is seen released a reply's latency after its slot on Redis's clock; that latency
differs by a millisecond or so between sends, so a span of releases seen is measured this
much shorter than a second (the slots themselves are checked exactly on the test's clock)."""


@pytest.fixture
async def clients(redis_url):
    """Three Redis clients: three processes' connections to the one Redis."""
    made = [Redis.from_url(redis_url) for _ in range(3)]
    yield made
    for client in made:
        await client.aclose()


def busiest(moments: list[float], span: float = 1.0) -> int:
    """The most moments any span [t, t + span) holds (a span starting at a moment holds at
    least as many as any other)."""
    moments = sorted(moments)
    return max(sum(1 for m in moments[i:] if m < t + span) for i, t in enumerate(moments))


async def test_any_one_second_span_holds_at_most_rate_plus_burst(clients):
    """Redis's own clock (as in production), 8 concurrent senders in each of 3 processes,
    started late in a second: the fixed windows used before let RATE through at once and
    RATE more at the next whole second (20 within 0.3 s here)."""
    limiters = [RedisRateLimiter(client, RATE, chat_interval=1) for client in clients]
    await clients[0].config_resetstat()
    released: list[float] = []

    async def send(limiter: RedisRateLimiter, chat: int) -> None:
        if chat % 2:
            await limiter.pace("client", str(chat))
        else:
            assert await limiter.acquire("client", str(chat))
        released.append(time.time())

    await asyncio.sleep(1.7 - time.time() % 1)  # late in a wall-clock second (not the pace's)
    await asyncio.gather(*(send(limiters[i % 3], i) for i in range(24)))
    seen = sorted(r - released[0] for r in released)
    assert busiest(released, 1 - SEEN_LATE) <= RATE + BURST, seen
    # every send made exactly one round trip: no retries while it waited
    stats = await clients[0].info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] - stats["cmdstat_evalsha"]["failed_calls"] == 24


async def test_a_busy_pace_gives_rate_a_second_from_every_process(clients, clock):
    """On the test's clock: the slots the processes get together are 1/RATE apart after the
    burst, so a second of them holds RATE + BURST, and the clock must move for the rest."""
    limiters = [RedisRateLimiter(c, RATE, chat_interval=0, clock=clock) for c in clients]
    sends = [asyncio.create_task(limiters[i % 3].pace("client", str(i))) for i in range(18)]
    try:
        done, _ = await asyncio.wait(sends, timeout=0.5)
        assert len(done) == 1 + BURST  # not 1 + BURST per process
        clock.advance(seconds=0.999)
        done, _ = await asyncio.wait(sends, timeout=1.5)
        assert len(done) == RATE + BURST
        clock.advance(seconds=1)
        _, pending = await asyncio.wait(sends, timeout=2)
        assert not pending
    finally:
        for task in sends:
            task.cancel()


async def test_pace_marks_the_chat_so_another_process_keeps_its_gap(clients, clock):
    answers, pushes = (RedisRateLimiter(c, RATE, chat_interval=1, clock=clock) for c in clients[:2])
    await answers.pace("client", "42")
    await asyncio.wait_for(answers.pace("client", "42"), 0.5)  # answers are not held by the gap
    assert not await pushes.acquire("client", "42")  # a reminder after them waits
    assert 0 < await clients[0].pttl("priyom:rl:chat:client:42") <= 1000
    assert await pushes.acquire("client", "43")
    assert not await answers.acquire("client", "43")  # acquire marks the chat too


async def test_a_refused_push_takes_no_slot(clients, clock):
    limiter = RedisRateLimiter(clients[0], 1, chat_interval=1, burst=0, clock=clock)
    await limiter.pace("client", "42")
    for _ in range(5):
        assert not await limiter.acquire("client", "42")
    waiting = asyncio.create_task(limiter.acquire("client", "43"))
    try:
        clock.advance(seconds=1)  # the one slot after the answer's, not six slots later
        assert await asyncio.wait_for(waiting, 2)
    finally:
        waiting.cancel()


async def test_one_key_per_bot_that_expires_with_the_pace(clients, clock):
    """The pace keeps one key per bot, alive only while a slot is booked ahead (the fixed
    windows left a key per second, each for five seconds)."""
    limiter = RedisRateLimiter(clients[0], 1, chat_interval=0, burst=0, clock=clock)
    for _ in range(5):
        clock.advance(seconds=1)
        await limiter.pace("client", "42")
    keys = await clients[0].keys("priyom:rl:*")
    assert keys == [b"priyom:rl:pace:client"]
    assert 0 < await clients[0].pttl(keys[0]) <= 1001  # the next slot, a second away


async def test_a_flushed_redis_forgets_the_pace_not_the_limiter(clients, clock):
    """FLUSHALL and SCRIPT FLUSH (what a restart without persistence leaves): the script is
    loaded again and the pace starts afresh — one burst, then paced again."""
    limiter = RedisRateLimiter(clients[0], RATE, chat_interval=0, clock=clock)
    for _ in range(1 + BURST):
        await asyncio.wait_for(limiter.pace("client", "1"), 0.5)
    await clients[1].flushall()
    await clients[1].script_flush()
    for _ in range(1 + BURST):
        await asyncio.wait_for(limiter.pace("client", "1"), 0.5)
    late = asyncio.create_task(limiter.pace("client", "1"))
    try:
        done, _ = await asyncio.wait({late}, timeout=0.3)
        assert not done  # paced again
        clock.advance(seconds=1)
        await asyncio.wait_for(late, 2)
    finally:
        late.cancel()


async def test_a_restarted_redis_drops_no_send(redis_server, tmp_path, clock):
    """A restart drops every connection and forgets the script: the next send still goes
    (the limiter asks once more on a dropped connection and loads the script again)."""
    binary, port = shutil.which("redis-server"), _free_port()
    server = start_redis_server(binary, port, tmp_path)
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    limiter = RedisRateLimiter(client, RATE, chat_interval=1, clock=clock)
    try:
        await limiter.pace("client", "1")
        server.terminate()
        server.wait(timeout=10)
        server = start_redis_server(binary, port, tmp_path)
        await asyncio.wait_for(limiter.pace("client", "2"), 1)
        assert await asyncio.wait_for(limiter.acquire("client", "3"), 1)
        assert not await limiter.acquire("client", "2")  # the mark made after the restart
    finally:
        await client.aclose()
        server.terminate()
        server.wait(timeout=10)
