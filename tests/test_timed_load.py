"""Timed work under load: delivery passes bounded by time (chat lanes), and the urgent loop
that sends an escalation while a backlog of client messages is being delivered.

Business time is the moved test clock; the rate limiter paces by the real monotonic clock
(it is what it limits), so the pacing tests wait for it, a fraction of a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from tortoise.transactions import in_transaction

import bot.delivery.ratelimit
from bot.clock import FakeClock
from bot.delivery.lanes import deliver_for
from bot.delivery.outbox import Message, deliver_due, enqueue
from bot.delivery.ratelimit import LocalRateLimiter
from bot.i18n import Texts
from bot.models import Lead, Outbox, OutboxStatus
from bot.settings import load_settings
from handlers.telegram_outbox import TelegramSender
from tests.conftest import SAMARA
from tests.fakes.bot_api import FakeBotApi
from workers import embedded
from workers.arq_worker import URGENT_BUDGET, build_worker, tick, urgent
from workers.timed import TimedWork

CLIENT, STAFF = "123456:CLIENT", "654321:STAFF"
OWNER = 9001
MON_12 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=SAMARA)  # working time


@pytest.fixture
async def api():
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def sender(api):
    bots = {
        "client": api.make_bot(CLIENT, parse_mode=None),
        "staff": api.make_bot(STAFF, parse_mode=None),
    }
    yield TelegramSender(bots)
    for one in bots.values():
        await one.session.close()


@pytest.fixture
def frozen_limiter_time(clock: FakeClock, monkeypatch):
    """The limiter reads the stopped test clock: a chat it has just served stays busy."""
    now = lambda: clock.now().timestamp()  # noqa: E731
    monkeypatch.setattr(bot.delivery.ratelimit, "time", SimpleNamespace(time=now, monotonic=now))


async def queue(clock: FakeClock, rows: list[tuple[int, str]], kind: str = "notice") -> None:
    """One client message per (chat, text), queued in this order; the text is its key."""
    async with in_transaction():
        for chat, text in rows:
            await enqueue(
                bot="client",
                chat_id=chat,
                kind=kind,
                message=Message(text),
                dedup_key=text,
                now=clock.now(),
            )


def texts_to(api: FakeBotApi, chat: int) -> list[str]:
    return [m["text"] for m in api.sent(CLIENT, chat)]


async def until(predicate: Callable[[], Awaitable[bool] | bool], timeout: float) -> float:
    """Wait for what a running loop does (never for the business clock); the seconds it took."""
    began = time.monotonic()
    while True:
        result = predicate()
        if result if isinstance(result, bool) else await result:
            return time.monotonic() - began
        assert time.monotonic() - began < timeout, "timed out"
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------- chat lanes


async def test_a_busy_chat_waits_within_the_pass_and_keeps_its_order(db, clock, api, sender):
    rows = [(42, "a1"), (43, "b1"), (42, "a2"), (43, "b2"), (42, "a3")]
    await queue(clock, rows)
    limiter = LocalRateLimiter(per_second=100, chat_interval=0.1)

    assert await deliver_for(sender, clock, budget=5, limiter=limiter) == 5  # one pass

    assert texts_to(api, 42) == ["a1", "a2", "a3"]
    assert texts_to(api, 43) == ["b1", "b2"]
    times = [c.at for c in api.calls(CLIENT, "sendMessage") if c.chat_id == 42]
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.09  # the chat gap
    assert await Outbox.filter(status=OutboxStatus.SENT).count() == 5


async def test_the_old_fixed_pass_leaves_a_busy_chat_to_the_next_tick(db, clock, api, sender):
    """What the lanes change: a pass of `deliver_due` sends one row per busy chat."""
    await queue(clock, [(42, "a1"), (42, "a2"), (43, "b1")])
    limiter = LocalRateLimiter(per_second=100, chat_interval=0.1)
    assert await deliver_due(sender, clock, limiter=limiter) == 2


async def test_the_pass_ends_with_its_budget_and_lets_a_waiting_row_go(
    db, clock, api, sender, frozen_limiter_time
):
    await queue(clock, [(42, "a1"), (42, "a2")])
    limiter = LocalRateLimiter(per_second=100, chat_interval=1)

    began = time.monotonic()
    assert await deliver_for(sender, clock, budget=0.3, limiter=limiter) == 1
    assert 0.2 < time.monotonic() - began < 2
    assert texts_to(api, 42) == ["a1"]
    waiting = await Outbox.get(dedup_key="a2")
    assert waiting.status == OutboxStatus.PENDING and waiting.locked_until is None


async def test_a_failed_row_stops_its_chat_for_the_pass_only(db, clock, api, sender):
    await queue(clock, [(42, "a1"), (42, "a2"), (43, "b1")])
    api.fail_next("sendMessage", 500)  # the first send: a1, the first lane

    assert await deliver_for(sender, clock, budget=5, concurrency=1) == 1

    assert texts_to(api, 42) == [] and texts_to(api, 43) == ["b1"]
    pending = await Outbox.filter(status=OutboxStatus.PENDING).order_by("id")
    assert [(r.dedup_key, r.attempts) for r in pending] == [("a1", 1), ("a2", 0)]
    clock.advance(minutes=5)  # a1's backoff is over: the chat gets both, in order
    assert await deliver_for(sender, clock, budget=5) == 2
    assert texts_to(api, 42) == ["a1", "a2"]


async def test_the_urgent_and_the_main_pass_split_the_kinds(db, clock, api, sender):
    """So the two loops of a process never wait for one chat's gap with two of its rows."""
    await queue(clock, [(42, "later")], kind="summary")
    await queue(clock, [(43, "now")], kind="alert")
    await queue(clock, [(44, "reply")], kind="reply")
    assert await deliver_for(sender, clock, budget=5, urgent=False) == 1
    assert texts_to(api, 42) == ["later"] and texts_to(api, 43) == []
    assert await deliver_for(sender, clock, budget=5, urgent=True) == 2
    assert texts_to(api, 43) == ["now"] and texts_to(api, 44) == ["reply"]


# --------------------------------------------------------------------------- urgent loop


async def test_an_escalation_is_not_held_up_by_a_backlog_of_client_messages(
    db, config, clock, api, sender
):
    """Old shape: the SLA was looked at between delivery batches of 50 rows; at 10 msg/s a
    batch took 5 s, so the escalation waited for it. The urgent loop sends it at once."""
    clock.set(MON_12)
    await Lead.create(
        channel="telegram",
        status="new",
        needs_human=True,
        handoff_reason="not_understood",
        attention_at=MON_12 - dt.timedelta(minutes=14),  # the claim SLA (15 min) is near
        created_at=MON_12,
        updated_at=MON_12,
    )
    await queue(clock, [(10_000 + i, f"backlog-{i}") for i in range(300)], kind="summary")
    limiter = LocalRateLimiter(per_second=10, chat_interval=1)
    work = TimedWork(config, Texts("ru"), clock, frozenset({OWNER}))
    loop = asyncio.create_task(embedded.run_forever(work, sender, limiter, interval=0.05))
    try:
        await until(lambda: len(api.calls(CLIENT, "sendMessage")) >= 3, timeout=10)
        clock.advance(minutes=1)  # the claim deadline passes while the backlog is sent
        took = await until(lambda: bool(api.sent(STAFF, OWNER)), timeout=4)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert took < 2.5, f"the escalation waited {took:.1f} s"
    assert "#" in api.sent(STAFF, OWNER)[0]["text"]
    assert len(api.calls(CLIENT, "sendMessage")) < 300  # the backlog was still under way


# --------------------------------------------------------------------------- arq worker


async def breaching_lead(clock: FakeClock) -> Lead:
    """A lead whose 15-minute claim deadline has just passed."""
    clock.set(MON_12)
    return await Lead.create(
        channel="telegram",
        status="new",
        needs_human=True,
        handoff_reason="not_understood",
        attention_at=MON_12 - dt.timedelta(minutes=15),
        created_at=MON_12,
        updated_at=MON_12,
    )


def arq_worker(db, config, clock, api, redis_url: str = "redis://localhost:1"):
    settings = load_settings(
        database_url=f"sqlite://{db}",
        redis_url=redis_url,
        bot_token=CLIENT,
        staff_bot_token=STAFF,
        owner_telegram_ids=str(OWNER),
    )
    bots = {
        "client": api.make_bot(CLIENT, parse_mode=None),
        "staff": api.make_bot(STAFF, parse_mode=None),
    }
    return build_worker(settings, config, clock=clock, bots=bots, handle_signals=False)


async def test_the_arq_urgent_job_records_and_sends_an_escalation_itself(db, config, clock, api):
    """The escalation does not become a delivery job behind the queued ones: the urgent
    job sends it, and leaves the client backlog to the tick's jobs."""
    lead = await breaching_lead(clock)
    await queue(clock, [(10_000 + i, f"backlog-{i}") for i in range(20)], kind="summary")
    worker = arq_worker(db, config, clock, api)
    worker.ctx["limiter"] = LocalRateLimiter(per_second=25, chat_interval=1)
    try:
        assert await urgent(worker.ctx) == 1
    finally:
        await worker.close()
        for one in worker.ctx["bots"].values():
            await one.session.close()
    (escalation,) = api.sent(STAFF, OWNER)
    assert f"#{lead.id} " in escalation["text"]
    assert not api.calls(CLIENT, "sendMessage")


async def test_the_arq_tick_queues_about_two_seconds_of_sending(db, config, clock, api, redis_url):
    """So the cron jobs, queued behind the delivery jobs, start within about two seconds."""
    await queue(clock, [(10_000 + i, f"backlog-{i}") for i in range(200)], kind="summary")
    worker = arq_worker(db, config, clock, api, redis_url)
    worker.ctx["redis"] = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        assert await tick(worker.ctx) == 2 * 25  # the default pace: 25 msg/s
        assert await tick(worker.ctx) == 0  # the same rows: their jobs are queued already
    finally:
        await worker.ctx["redis"].aclose()
        await worker.close()
        for one in worker.ctx["bots"].values():
            await one.session.close()


async def test_the_arq_urgent_job_claims_for_outbox_claim_seconds(db, config, clock, api):
    """A worker killed while sending an escalation leaves it claimed for the pass's budget
    plus OUTBOX_CLAIM_SECONDS (as its delivery jobs' claims), not the built-in 90 s."""
    await breaching_lead(clock)
    worker = arq_worker(db, config, clock, api)
    worker.ctx["settings"] = worker.ctx["settings"].model_copy(update={"outbox_claim_seconds": 5})
    claims: list[dt.datetime | None] = []
    channels = worker.ctx["sender"]

    class Peek:
        async def send(self, row):
            claims.append((await Outbox.get(id=row.id)).locked_until)
            return await channels.send(row)

    worker.ctx["sender"] = Peek()
    worker.ctx["limiter"] = LocalRateLimiter(per_second=25, chat_interval=1)
    try:
        assert await urgent(worker.ctx) == 1
    finally:
        await worker.close()
        for one in worker.ctx["bots"].values():
            await one.session.close()
    assert claims == [clock.now() + dt.timedelta(seconds=5 + URGENT_BUDGET)]
