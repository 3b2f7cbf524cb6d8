"""Several instances, as production runs them: two `python -m bot` in webhook mode and two
`python -m bot worker` on one PostgreSQL and one Redis, the fake Bot API posting each
client's consecutive updates to alternating instances; a worker SIGKILLed midway.

Also: migrations run once when instances start together (the advisory lock of bot.db),
and one chat's steps take turns across processes (bot.chat_lock)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import random
import signal
import sys
import time

import pytest

from bot import chat_lock
from bot.db import close_db, init_db
from bot.delivery.ratelimit import BURST
from bot.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    Conversation,
    MessageLog,
    Outbox,
)
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.instances_rig import (
    CLIENT,
    CLIENT_SECRET,
    OWNER,
    ROOT,
    STAFF,
    Inbox,
    book,
    environment,
    fleet,
    fresh_database,
    someone_waits_for_a_turn,
)
from tests.test_pace_bound import busiest

CLIENTS = int(os.environ.get("PRIYOM_SCALE_CLIENTS", "10"))
JOURNEY = ("Здравствуйте", "ваше согласие", "номер телефона", "Как к вам", "Заявка принята")
"""What every client is sent once, in this order (the rest are edits of one message)."""
RATE = 30  # messages a second per bot, for all processes together
GRACE = 1.0  # a request the killed worker had written may reach the fake just after the kill
LANES = 8  # rows a worker sends at once (bot.delivery.outbox.deliver_due's concurrency)
BUNCHING = 4
"""Sends beyond the limiter's bound the fake may see in one second: released 1/RATE apart,
they arrive an HTTP request later, and on a loaded machine that latency varies by up to a
tenth of a second or so (four runs saw at most 2 more; fixed windows gave 46 and 57)."""


async def test_two_instances_two_workers_one_killed_nothing_lost_or_doubled(
    postgres_url, redis_url, tmp_path
):
    database = await fresh_database(postgres_url)
    async with FakeBotApi() as api:
        env = environment(
            api,
            database,
            redis_url,
            OUTBOX_RATE_PER_SECOND=str(RATE),
            OUTBOX_CHAT_INTERVAL="0",
            # a send to the fake never takes 5 s; a killed worker's rows come back soon
            OUTBOX_CLAIM_SECONDS="5",
        )
        async with fleet(api, tmp_path, env, bots=2, workers=2) as running:
            users = [FakeUser(700_000 + i, f"Клиент{i}") for i in range(CLIENTS)]

            killed_at: list[float] = []

            async def kill_a_worker() -> None:
                with contextlib.suppress(AssertionError):  # once the workers are sending
                    await api.wait_for_call(STAFF, "sendMessage", timeout=10)
                running.workers[0].send_signal(signal.SIGKILL)
                killed_at.append(time.time())

            killer = asyncio.create_task(kill_a_worker())
            try:
                async with Inbox(api) as inbox:
                    outcomes = await asyncio.gather(
                        *(book(inbox, user, random.Random(user.id)) for user in users)
                    )
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{running.logs()}") from None
            await killer
            await asyncio.gather(*(_two_quick_messages(api, user) for user in users))
            assert outcomes.count("booked") == CLIENTS, collections.Counter(outcomes)
            await _all_sent(database, running, users)
            running.check_alive()
        calls = api.calls()
    await _check(database, calls, users, killed_at[0])


QUICK = ("первое", "второе")


async def _two_quick_messages(api: FakeBotApi, user: FakeUser) -> None:
    """Two texts, the second posted the moment the first is acknowledged (as Telegram
    does), each to the other instance."""
    for n, text in enumerate(QUICK):
        message = {
            "message_id": 10_000 + n,
            "from": user.to_dict(),
            "chat": user.chat(),
            "date": int(time.time()),
            "text": text,
        }
        update = {"update_id": user.id * 10 + n, "message": message}
        assert await api.post_webhook(CLIENT, update, CLIENT_SECRET) == 200


async def _quick_ones_in_order(users: list[FakeUser], timeout: float = 30) -> None:
    """Both quick texts of every chat applied once, in the order they were sent."""
    chats = [str(u.id) for u in users]
    logged: dict[str, list[str]] = {}
    for _ in range(int(timeout * 10)):
        rows = (
            await MessageLog.filter(direction="in", chat_id__in=chats, text__in=QUICK)
            .order_by("id")
            .values_list("chat_id", "text")
        )
        logged = {chat: [t for c, t in rows if c == chat] for chat in chats}
        if all(len(texts) >= 2 for texts in logged.values()):
            break
        await asyncio.sleep(0.1)
    bad = {c: texts for c, texts in logged.items() if texts != list(QUICK)}
    assert not bad, bad


async def _all_sent(database: str, running, users: list[FakeUser], timeout: float = 40) -> None:
    """Wait until the outbox holds nothing unsent (the killed worker's rows included)."""
    await init_db(database, migrate=False)
    try:
        await _quick_ones_in_order(users)
        for _ in range(int(timeout * 10)):
            if not await Outbox.filter(status="pending").exists():
                return
            await asyncio.sleep(0.1)
        left = await Outbox.filter(status="pending").values("id", "kind", "locked_until")
        raise AssertionError(f"unsent after {timeout}s: {left}\n{running.logs()}")
    finally:
        await close_db()


async def _check(database: str, calls, users: list[FakeUser], killed_at: float) -> None:
    """A worker killed between a send and its record leaves that row to be sent again
    (Telegram has no idempotency key): a row it had in flight — first sent before the kill,
    again after — may come twice, at most one per delivery lane; nothing else may."""
    sends = [c for c in calls if c.method in ("sendMessage", "sendPhoto") and c.ok]
    await init_db(database, migrate=False)
    try:
        # every client booked once, every slot held once
        booked = await Appointment.filter(status__in=ACTIVE_APPOINTMENT_STATUSES).values(
            "client__channel_user_id", "master_id", "start"
        )
        per_client = collections.Counter(b["client__channel_user_id"] for b in booked)
        assert sorted(per_client) == sorted(str(u.id) for u in users)
        assert set(per_client.values()) == {1}
        cells = collections.Counter((b["master_id"], b["start"]) for b in booked)
        assert max(cells.values()) == 1
        # every outbox row sent exactly once: one sendMessage per sent row, no more
        rows = await Outbox.filter(status="sent").values("bot", "chat_id", "payload")
        for conv in await Conversation.filter(chat_id__in=[str(u.id) for u in users]):
            assert conv.version >= 8  # every step saved: none lost on the way
    finally:
        await close_db()
    token = {"client": CLIENT, "staff": STAFF}
    wanted = collections.Counter(
        (token[r["bot"]], str(r["chat_id"]), r["payload"].get("text") or "") for r in rows
    )
    got = collections.Counter((c.token, str(c.chat_id), _text(c)) for c in sends)
    missing = wanted - got
    assert not missing, f"outbox rows never sent: {list(missing)[:5]}"
    alerts = [c for c in sends if c.token == STAFF and c.chat_id == OWNER]
    _at_most_the_killed_workers_in_flight_twice(alerts, killed_at)
    # per chat, the answers came once each, in the order of the steps
    for user in users:
        texts = [_text(c) for c in sends if c.token == CLIENT and c.chat_id == user.id]
        seen = [next(i for i, t in enumerate(texts) if mark in t) for mark in JOURNEY]
        assert seen == sorted(seen), texts
        for mark in JOURNEY:
            assert sum(mark in t for t in texts) == 1, (mark, texts)
    # the shared pace: all processes together stayed under RATE a second per bot
    for bot_token in (CLIENT, STAFF):
        _paced([c.at for c in sends if c.token == bot_token])


def _paced(arrivals: list[float]) -> None:
    """The limiter releases at most RATE + BURST sends in any one-second span, 1/RATE apart
    once busy (bot.delivery.ratelimit); the fake sees each an HTTP request later, and that
    latency varies, so a few may bunch: at most BUNCHING more in any second, and the run as
    a whole at RATE a second."""
    start, span = min(arrivals), max(arrivals) - min(arrivals)
    assert busiest(arrivals) <= RATE + BURST + BUNCHING, sorted(a - start for a in arrivals)
    assert len(arrivals) <= RATE * span + 1 + BURST + BUNCHING, (len(arrivals), span)


def _at_most_the_killed_workers_in_flight_twice(alerts, killed_at: float) -> None:
    times: dict[str, list[float]] = collections.defaultdict(list)
    for call in alerts:
        times[_text(call)].append(call.at)
    repeated = {t: at for t, at in times.items() if len(at) > 1}
    in_flight = {
        t for t, at in repeated.items() if len(at) == 2 and at[0] < killed_at + GRACE < at[1]
    }
    assert set(repeated) == in_flight, (
        f"staff alerts sent twice: {list(set(repeated) - in_flight)[:3]}"
    )
    assert len(in_flight) <= LANES, f"more rows in flight than a worker's lanes: {in_flight}"


def _text(call) -> str:
    return call.params.get("text") or call.params.get("caption") or ""


STARTING = 3


async def test_instances_starting_together_migrate_once(postgres_url, tmp_path):
    """Three `python -m bot migrate` at the same moment on one new database: both succeed,
    each migration is applied once."""
    database = await fresh_database(postgres_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "migrate",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(STARTING)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in procs))
    assert [p.returncode for p in procs] == [0] * STARTING, [o[0].decode()[-2000:] for o in outputs]
    await init_db(database, migrate=False)
    try:
        from tortoise import Tortoise

        connection = Tortoise.get_connection("default")
        _, rows = await connection.execute_query("SELECT version FROM aerich")
        versions = [r["version"] for r in rows]
        assert (
            len(versions)
            == len(set(versions))
            == len(list((ROOT / "migrations/models").glob("*.py")))
        )
    finally:
        await close_db()


async def test_one_chat_takes_turns_across_connections(postgres_url):
    """While one step holds a chat's turn, another process's step for that chat waits; a
    step of another chat does not."""
    database = await fresh_database(postgres_url)
    await init_db(database)
    try:
        order: list[str] = []
        first_in = asyncio.Event()

        async def first() -> None:
            async with chat_lock.chat_turn("telegram", "1"):
                first_in.set()
                while "other chat in" not in order or not await someone_waits_for_a_turn():
                    await asyncio.sleep(0.01)
                order.append("first done")

        async def second() -> None:
            await first_in.wait()
            async with chat_lock.chat_turn("telegram", "1"):
                order.append("second in")

        async def other_chat() -> None:
            await first_in.wait()
            async with chat_lock.chat_turn("telegram", "2"):
                order.append("other chat in")

        await asyncio.gather(first(), second(), other_chat())
        assert order == ["other chat in", "first done", "second in"]
    finally:
        await close_db()


@pytest.fixture(autouse=True)
def _no_stray_pools():
    yield
    assert not chat_lock._pools  # close_db closed them
