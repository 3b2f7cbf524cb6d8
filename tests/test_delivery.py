"""Outbox delivery end to end: the real aiogram Bot against the fake Bot API over HTTP.

A message is identified by its dedup key, which is also its text; "exactly once" means the
fake recorded exactly one successful sendMessage with that text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
from collections import Counter
from types import SimpleNamespace

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from arq import create_pool
from arq.connections import RedisSettings
from redis.asyncio import Redis
from tortoise.transactions import in_transaction

import bot.delivery.ratelimit
from bot.clock import FakeClock
from bot.delivery.outbox import Message, backoff_seconds, deliver_due, due_ids, enqueue
from bot.delivery.ratelimit import LocalRateLimiter, RedisRateLimiter
from bot.models import Lead, Outbox, OutboxStatus
from bot.settings import load_settings
from handlers.telegram_outbox import TelegramSender
from tests.conftest import ROOT
from tests.fakes.bot_api import FakeBotApi, FastCloseSession
from workers.arq_worker import build_worker

TOKEN = "123456:TEST"


@pytest.fixture
async def api():
    async with FakeBotApi() as fake:
        yield fake


def make_bot(api: FakeBotApi, timeout: float = 60.0) -> Bot:
    """A real aiogram Bot on the fake, configured like production (no parse mode)."""
    session = FastCloseSession(api=TelegramAPIServer.from_base(api.base_url), timeout=timeout)
    return Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=None))


@pytest.fixture
async def client_bot(api):
    bot = make_bot(api, timeout=0.5)
    yield bot
    await bot.session.close()


@pytest.fixture
def limiter_time(clock: FakeClock, monkeypatch):
    """The rate limiters read time through bot.delivery.ratelimit.time: make it the test's clock."""
    now = lambda: clock.now().timestamp()  # noqa: E731
    monkeypatch.setattr(bot.delivery.ratelimit, "time", SimpleNamespace(time=now, monotonic=now))


async def queue(clock: FakeClock, n: int, prefix: str = "m", chat=None, **kw) -> list[str]:
    """Queue n messages in one transaction; each one's text is its dedup key."""
    keys = [f"{prefix}-{i}" for i in range(n)]
    async with in_transaction():
        for i, key in enumerate(keys):
            chat_id = chat if chat is not None else 10_000 + i
            await enqueue(
                bot="client",
                chat_id=chat_id,
                kind="notice",
                message=Message(key),
                dedup_key=key,
                now=clock.now(),
                **kw,
            )
    return keys


def sent_texts(api: FakeBotApi) -> Counter:
    """Texts of the messages the chats received (a call cut off by a timeout is no message)."""
    chats = {c.chat_id for c in api.calls(TOKEN, "sendMessage")}
    return Counter(m["text"] for chat in chats for m in api.sent(TOKEN, chat))


def assert_exactly_once(api: FakeBotApi, keys: list[str]) -> None:
    counts = sent_texts(api)
    assert {k: counts[k] for k in keys} == dict.fromkeys(keys, 1)


async def deliver(client_bot: Bot, clock: FakeClock, **kw) -> int:
    return await deliver_due(TelegramSender({"client": client_bot}), clock, **kw)


async def statuses() -> Counter:
    return Counter(await Outbox.all().values_list("status", flat=True))


# --------------------------------------------------------------------------- queueing


async def test_rolled_back_transaction_queues_nothing(db, clock):
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await queue(clock, 2)
            raise RuntimeError("the change failed")
    assert await Outbox.all().count() == 0


async def test_same_dedup_key_queues_once(db, clock):
    assert await queue(clock, 1, "once")
    async with in_transaction():  # a retried change: its duplicate must not undo the rest
        await queue(clock, 1, "once")
        await queue(clock, 1, "other")
    assert await Outbox.all().order_by("id").values_list("dedup_key", flat=True) == [
        "once-0",
        "other-0",
    ]


# --------------------------------------------------------------------------- Bot API errors

BACKOFF = None  # the first exponential backoff step, jittered per row
RETRIES = [
    pytest.param({"status": 429, "retry_after": 7}, 7, id="429-retry-after"),
    pytest.param({"status": 500}, BACKOFF, id="500"),
    pytest.param({"status": 502}, BACKOFF, id="502"),
    pytest.param({"delay_seconds": 1.5}, BACKOFF, id="timeout"),  # bot's is 0.5 s
    pytest.param({"status": 404}, BACKOFF, id="unmapped-404"),
    pytest.param({"status": 401}, BACKOFF, id="401-token-replaced-later"),
]


@pytest.mark.parametrize(("failure", "wait"), RETRIES)
async def test_failed_send_is_retried_later_and_sent_once(
    db, clock, api, client_bot, failure, wait
):
    keys = await queue(clock, 1)
    api.fail_next("sendMessage", **failure)
    start = clock.now()

    assert await deliver(client_bot, clock) == 0
    row = await Outbox.get(dedup_key=keys[0])
    counted = 0 if "retry_after" in failure else 1  # flood control is not a failure
    assert (row.status, row.attempts, row.locked_until) == (OutboxStatus.PENDING, counted, None)
    wait = backoff_seconds(1, row.id) if wait is BACKOFF else wait
    assert row.due_at == start + dt.timedelta(seconds=wait)

    clock.advance(seconds=wait - 0.5)
    assert await deliver(client_bot, clock) == 0  # not due yet: no call at all
    clock.advance(seconds=0.5)
    assert await deliver(client_bot, clock) == 1
    clock.advance(hours=1)
    assert await deliver(client_bot, clock) == 0
    assert_exactly_once(api, keys)
    assert len(api.calls(TOKEN, "sendMessage")) == 2


async def test_blocked_chat_is_dead_and_shown_to_staff(db, clock, api, client_bot):
    now = clock.now()
    lead = await Lead.create(channel="telegram", created_at=now, updated_at=now)
    keys = await queue(clock, 1, "blocked", chat=777, lead_id=lead.id)
    api.block_chat(777)

    assert await deliver(client_bot, clock) == 0
    row = await Outbox.get(dedup_key=keys[0])
    assert row.status == OutboxStatus.DEAD
    await lead.refresh_from_db()
    assert (lead.needs_human, lead.handoff_reason) == (True, "undeliverable")

    clock.advance(days=1)
    assert await deliver(client_bot, clock) == 0
    assert len(api.calls(TOKEN, "sendMessage")) == 1  # never retried


# --------------------------------------------------------------------------- rate limits


async def test_local_limiter_sends_one_per_chat_per_pass(db, clock, api, client_bot, limiter_time):
    keys = await queue(clock, 3, "chat", chat=42)
    limiter = LocalRateLimiter(per_second=5, chat_interval=1)

    for expected_total in (1, 2, 3):
        assert await deliver(client_bot, clock, limiter=limiter) == 1
        assert await deliver(client_bot, clock, limiter=limiter) == 0  # the chat must wait
        assert sum(sent_texts(api).values()) == expected_total
        assert (await statuses())[OutboxStatus.PENDING] == 3 - expected_total
        assert await Outbox.filter(locked_until__isnull=False).count() == 0  # released
        clock.advance(seconds=1)
    assert_exactly_once(api, keys)
    assert [m["text"] for m in api.sent(TOKEN, 42)] == keys  # in the order they were queued


async def test_redis_limiter_shares_one_bot_budget(redis_url, clock):
    redis = Redis.from_url(redis_url)
    limiters = [RedisRateLimiter(redis, 3, chat_interval=0, burst=2, clock=clock) for _ in "ab"]
    grants = [
        asyncio.create_task(limiters[i % 2].acquire("client", str(i)), name=str(i))
        for i in range(6)
    ]
    try:
        done, pending = await asyncio.wait(grants, timeout=0.3)
        assert len(done) == 3  # both instances together, not 3 each
        clock.advance(seconds=1.5)  # past the others' slots, a third of a second apart
        done, pending = await asyncio.wait(grants, timeout=2)
        assert not pending
        assert all(task.result() for task in grants)
    finally:
        for task in grants:
            task.cancel()
        await redis.aclose()


# --------------------------------------------------------------------------- arq workers


def worker_settings(db_path, redis_url: str):
    settings = load_settings(
        redis_url=redis_url, database_url=f"sqlite://{db_path}", bot_token=TOKEN
    )
    # Far above Telegram's limit (the setting caps it at 30): the test must not wait on pace.
    return settings.model_copy(update={"outbox_rate_per_second": 10_000})


async def until(predicate, timeout: float = 10) -> None:
    """Wait for a condition set by a real server or another process (never for the clock)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, f"timed out waiting for {predicate.__name__}"
        await asyncio.sleep(0.01)


async def settled(clock: FakeClock) -> bool:
    """Nothing due is left unsent and no row is in a sender's hands."""
    now = clock.now()
    return not await due_ids(now, 1) and not await Outbox.filter(locked_until__gt=now).exists()


@pytest.fixture
def shared_db(db, monkeypatch):
    """Workers in one process share tortoise's global connection: the one the test opened.

    (Each worker's on_startup would re-run init_db and its on_shutdown close_db, pulling the
    database from under the other worker; as separate processes they don't share it.)
    """

    async def nothing(*args) -> None:
        return None

    monkeypatch.setattr("workers.arq_worker.init_db", nothing)
    monkeypatch.setattr("workers.arq_worker.close_db", nothing)
    return db


async def run_workers(n: int, settings, config, clock, api) -> list[int]:
    """Run n arq workers until the outbox settles; returns the jobs each one completed.

    Not burst mode: the tick is a per-second cron and arq enqueues the next run up to a
    second ahead, so a burst worker's queue is never empty and it never stops.
    """
    workers, tasks = [], []
    for _ in range(n):
        worker = build_worker(
            settings,
            config,
            clock=clock,
            bots={"client": make_bot(api)},
            poll_delay=0,
            max_jobs=5,  # so that one worker cannot take the whole queue at once
            handle_signals=False,
            redis_settings=RedisSettings.from_dsn(settings.redis_url),
        )
        workers.append(worker)
        tasks.append(asyncio.create_task(worker.async_run()))

        async def started(worker=worker) -> bool:
            return "limiter" in worker.ctx  # on_startup finished

        await until(started)
    try:
        await until(lambda: settled(clock))
    finally:
        for worker in workers:
            worker.allow_pick_jobs = False  # let the jobs under way finish, start no more
        for worker, task in zip(workers, tasks, strict=True):
            # Stop the poll loop first: one already past `allow_pick_jobs` (waiting for a
            # free slot) would start a job after the gather below, and close() cancels it.
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
            await worker.close()
    return [worker.jobs_complete for worker in workers]


async def test_two_arq_workers_send_every_row_once_and_survive_flushall(
    shared_db, config, clock, api, redis_url
):
    settings = worker_settings(shared_db, redis_url)
    keys = await queue(clock, 200)
    api.fail_next("sendMessage", 429, retry_after=5, times=10)  # these stay pending

    jobs = await run_workers(2, settings, config, clock, api)
    assert all(jobs), f"both workers must take part: {jobs}"
    assert (await statuses())[OutboxStatus.SENT] == 190
    assert max(sent_texts(api).values()) == 1

    # New rows whose jobs are in Redis, then Redis loses everything.
    more = await queue(clock, 20, "late")
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    for row_id in await Outbox.filter(dedup_key__in=more).values_list("id", flat=True):
        await pool.enqueue_job("deliver_row", row_id, _job_id=f"outbox:{row_id}")
    await pool.flushall()
    await pool.aclose()

    clock.advance(seconds=5)
    await run_workers(1, settings, config, clock, api)
    assert await statuses() == {OutboxStatus.SENT: 220}
    assert_exactly_once(api, keys + more)


# --------------------------------------------------------------------------- SIGKILL


async def start_delivery_worker(db_path, api: FakeBotApi, claim: float):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.delivery_worker",
        f"sqlite://{db_path}",
        api.base_url,
        TOKEN,
        str(claim),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert await asyncio.wait_for(proc.stdout.readline(), 30) == b"ready\n"
    return proc


def go(proc, now: dt.datetime) -> None:
    proc.stdin.write(f"{now.isoformat()}\n".encode())


def total_sent(api: FakeBotApi) -> int:
    return sum(sent_texts(api).values())


async def test_worker_killed_mid_batch_then_restarted(db, clock, api):
    n, claim = 300, 30
    keys = await queue(clock, n)
    api.fail_next("sendMessage", delay_seconds=0.02, times=2 * n)  # a slow Bot API
    # Both processes start now (aiogram's imports take seconds); the second waits.
    first, second = await asyncio.gather(*(start_delivery_worker(db, api, claim) for _ in "12"))

    go(first, clock.now())

    async def hundred_sent() -> bool:
        return total_sent(api) >= 100

    await until(hundred_sent)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    assert first.returncode == -signal.SIGKILL
    sent_before = total_sent(api)
    assert sent_before < n, "the batch finished before the kill: make the fake slower"
    claimed = await Outbox.filter(status=OutboxStatus.PENDING, locked_until__isnull=False)
    in_flight = len(claimed)

    clock.advance(seconds=claim + 1)  # the killed process's claims have expired
    go(second, clock.now())
    out, _ = await asyncio.wait_for(second.communicate(), 15)
    assert second.returncode == 0

    counts = sent_texts(api)
    duplicates = sum(c - 1 for c in counts.values())
    print(
        f"\nSIGKILL after {sent_before} sent; rows claimed at the kill: {in_flight}; "
        f"the restart sent {int(out)}; duplicates: {duplicates}"
    )
    assert set(counts) == set(keys)  # nothing lost
    assert await statuses() == {OutboxStatus.SENT: n}
    assert duplicates <= in_flight  # only rows Telegram took whose mark was not committed
