"""Bot instances send under the same Redis budget as the workers (handlers.telegram_pace):
N instances and the workers together stay under Telegram's per-bot limit."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.delivery.ratelimit import BURST, RedisRateLimiter
from handlers.telegram_pace import pace_bots
from tests.fakes.bot_api import FakeBotApi

TOKEN = "123456:pace"


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_two_instances_and_a_worker_share_one_bot_budget(redis, clock):
    async with FakeBotApi() as api:
        bots = [api.make_bot(TOKEN, parse_mode=None) for _ in range(2)]  # two instances
        for instance in bots:  # each process has its own limiter object on the one Redis
            pace_bots({"client": instance}, RedisRateLimiter(redis, 3, 0, clock=clock))
        worker = RedisRateLimiter(redis, 3, 0, clock=clock)
        tasks = [asyncio.create_task(b.send_message(i, "hi")) for i, b in enumerate(bots * 2)]
        tasks += [asyncio.create_task(worker.acquire("client", str(i))) for i in (7, 8)]
        try:
            done, _ = await asyncio.wait(tasks, timeout=0.5)
            assert len(done) == 1 + BURST  # all three processes together, not 3 each
            clock.advance(seconds=1.5)  # past the others' slots, a third of a second apart
            _, pending = await asyncio.wait(tasks, timeout=5)
            assert not pending
            assert len(api.calls(TOKEN, "sendMessage")) == 4
        finally:
            for task in tasks:
                task.cancel()
            for instance in bots:
                await instance.session.close()


async def test_answers_are_not_held_by_the_chat_gap_but_a_push_after_them_is(redis):
    limiter = RedisRateLimiter(redis, 30, chat_interval=1)
    await limiter.pace("client", "42")
    await asyncio.wait_for(limiter.pace("client", "42"), 0.5)  # a second answer goes at once
    assert not await limiter.acquire("client", "42")  # a reminder waits for the gap
    assert await limiter.acquire("client", "43")


async def test_edits_and_button_answers_are_not_paced(redis, clock):
    async with FakeBotApi() as api:
        instance = api.make_bot(TOKEN, parse_mode=None)
        pace_bots({"client": instance}, RedisRateLimiter(redis, 1, 0, burst=0, clock=clock))
        try:
            sent = await instance.send_message(5, "one")
            await asyncio.wait_for(
                instance.edit_message_text("two", chat_id=5, message_id=sent.message_id), 1
            )
            await asyncio.wait_for(instance.answer_callback_query(callback_query_id="q"), 1)
            late = asyncio.create_task(instance.send_message(5, "three"))
            done, _ = await asyncio.wait({late}, timeout=0.3)  # waits for the (test's) clock
            assert not done
            clock.advance(seconds=1)
            await asyncio.wait_for(late, 5)
        finally:
            await instance.session.close()
