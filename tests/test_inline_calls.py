"""A dialogue step's SQLite calls run in the event loop's thread (bot.db_sqlite), and never
make the loop wait: a call that meets another writer's lock before changing anything waits
in aiosqlite's thread as before, and a step's call queued behind one already there keeps
its turn. The busy timeout here is short, so a loop that did wait would fail these tests
(not hang them)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bot import db_sqlite, raw_sql
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.db import close_db, init_db
from bot.dialogs import DialogService
from bot.models import Conversation, MessageLog
from scenarios.types import Input
from tests.test_step_commit import begin

BUSY_MS = 4000  # a loop that waited for a lock would stall this long
NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
INSERT_LOG = (
    'INSERT INTO "message_log" ("channel", "chat_id", "direction", "author", "kind", "at") '
    "VALUES ('test', ?, 'in', 'client', 'text', ?)"
)


@pytest.fixture
async def path(tmp_path: Path) -> AsyncIterator[Path]:
    file = tmp_path / "priyom.sqlite3"
    await init_db(f"sqlite://{file}?busy_timeout={BUSY_MS}")
    yield file
    await close_db()


@pytest.fixture
def dialogs(path: Path, config: BusinessConfig, clock: FakeClock) -> DialogService:
    return DialogService(config, clock)


def connection() -> Any:
    return Tortoise.get_connection("default")._connection


def trace_threads() -> list[tuple[int, str]]:
    """(thread, statement) for every statement tortoise's connection runs from now on."""
    seen: list[tuple[int, str]] = []
    connection()._conn.set_trace_callback(lambda sql: seen.append((threading.get_ident(), sql)))
    return seen


def other_writer(path: Path) -> sqlite3.Connection:
    """Another process's connection (SQLite locks the same between two in one process)
    holding the write lock."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


async def waiting_in_thread() -> None:
    """Until a call waits in aiosqlite's thread; the loop runs meanwhile (this polls)."""
    for _ in range(500):
        if connection()._queued > connection()._finished:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no call went to aiosqlite's thread")


class LoopWatch:
    """The longest the event loop went without running a 10 ms ticker, while watched."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(0.01)
            now = loop.time()
            self.longest, last = max(self.longest, now - last), now

    def __enter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def never_waited_for_the_lock(self) -> bool:
        return self.longest < BUSY_MS / 2000


def busy_timeout() -> int:
    return connection()._conn.execute("PRAGMA busy_timeout").fetchone()[0]


async def test_a_steps_statements_run_in_the_loops_thread_and_others_in_aiosqlites(dialogs):
    await begin(dialogs, "c1")
    seen = trace_threads()
    queued = connection()._queued
    assert await dialogs.handle("test", "c1", Input.button("svc:brows"))
    assert seen and {thread for thread, _ in seen} == {threading.get_ident()}
    assert connection()._queued == queued
    seen.clear()
    assert await Conversation.filter(chat_id="c1").count() == 1  # not a step
    assert seen and threading.get_ident() not in {thread for thread, _ in seen}
    assert busy_timeout() == BUSY_MS


async def test_a_plain_step_meeting_another_writer_waits_in_aiosqlites_thread(
    dialogs, path, caplog
):
    await begin(dialogs, "c2")
    version = (await Conversation.get(chat_id="c2")).version
    other = other_writer(path)
    with LoopWatch() as watch:
        step = asyncio.create_task(dialogs.handle("test", "c2", Input.button("svc:brows")))
        await waiting_in_thread()
        assert not step.done()
        other.execute("COMMIT")
        assert await step
    assert watch.never_waited_for_the_lock(), watch.longest
    assert (await Conversation.get(chat_id="c2")).version == version + 1
    assert connection()._queued == connection()._finished
    assert busy_timeout() == BUSY_MS
    assert "sqlite_begin_locked" not in caplog.text  # the loop's try made no retries


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
async def test_a_transactions_begin_meeting_another_writer_waits_in_aiosqlites_thread(
    path, outcome
):
    other = other_writer(path)

    async def transaction() -> None:
        token = db_sqlite.inline_calls()
        try:
            async with in_transaction():
                await raw_sql.execute(INSERT_LOG, ("t1", NOW))
                await raw_sql.execute(INSERT_LOG, ("t1", NOW))
                if outcome == "rollback":
                    raise LookupError
        finally:
            db_sqlite.thread_calls(token)

    with LoopWatch() as watch:
        task = asyncio.create_task(transaction())
        await waiting_in_thread()
        other.execute("COMMIT")
        if outcome == "rollback":
            with pytest.raises(LookupError):
                await task
        else:
            await task
    assert watch.never_waited_for_the_lock(), watch.longest
    assert await MessageLog.filter(chat_id="t1").count() == (2 if outcome == "commit" else 0)
    assert not connection()._conn.in_transaction
    assert busy_timeout() == BUSY_MS


async def test_a_lock_met_after_a_change_is_raised_not_retried(path):
    """Run again, the call would write its first row twice."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    runs: list[int] = []

    def work(db: sqlite3.Connection) -> None:
        runs.append(threading.get_ident())
        db.execute(INSERT_LOG, ("t2", raw_sql.db_values([NOW])[0]))
        if not other.in_transaction:
            other.execute("BEGIN IMMEDIATE")  # another writer takes the lock meanwhile
        db.execute(INSERT_LOG, ("t2", raw_sql.db_values([NOW])[0]))

    token = db_sqlite.inline_calls()
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await db_sqlite.in_thread(Tortoise.get_connection("default"), work)
    finally:
        db_sqlite.thread_calls(token)
        other.execute("ROLLBACK")
    assert runs == [threading.get_ident()]
    assert await MessageLog.filter(chat_id="t2").count() == 1
    assert busy_timeout() == BUSY_MS


async def test_a_step_call_keeps_its_turn_behind_a_call_in_aiosqlites_thread(path):
    release = threading.Event()
    order: list[str] = []

    def slow(db: sqlite3.Connection) -> None:
        release.wait(5)
        order.append("slow")

    def quick(db: sqlite3.Connection) -> int:
        order.append("quick")
        return threading.get_ident()

    client = Tortoise.get_connection("default")
    first = asyncio.create_task(db_sqlite.in_thread(client, slow))  # not a step: queued
    await asyncio.sleep(0)

    async def step_call() -> int:
        token = db_sqlite.inline_calls()
        try:
            return await db_sqlite.in_thread(client, quick)
        finally:
            db_sqlite.thread_calls(token)

    second = asyncio.create_task(step_call())
    for _ in range(5):
        await asyncio.sleep(0)
    assert order == [] and not second.done()
    release.set()
    await first
    assert await second != threading.get_ident()  # queued behind, so in aiosqlite's thread
    assert order == ["slow", "quick"]
    assert await step_call() == threading.get_ident()  # nothing queued: in the loop's


async def test_the_loops_try_logs_nothing_and_the_thread_still_waits(path, caplog):
    """After the loop's tries, a call outside a step waits the busy timeout again."""
    caplog.set_level(logging.WARNING, logger="priyom.db")
    token = db_sqlite.inline_calls()
    try:
        await raw_sql.execute(INSERT_LOG, ("t3", NOW))
    finally:
        db_sqlite.thread_calls(token)
    other = other_writer(path)
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, other.execute, "COMMIT")
    await raw_sql.execute(INSERT_LOG, ("t3", NOW))  # waits in the thread, then writes
    assert await MessageLog.filter(chat_id="t3").count() == 2
    assert caplog.records == []


async def test_checkpoints_run_in_aiosqlites_thread_and_keep_the_wal_bounded(path):
    """Not in a step's COMMIT in the loop's thread (SQLite's automatic one would): a
    checkpoint writes and syncs the database file."""
    seen = trace_threads()
    token = db_sqlite.inline_calls()
    try:
        for _ in range(3 * db_sqlite.CHECKPOINT_CHANGES):
            async with in_transaction():
                await raw_sql.execute(INSERT_LOG, ("t4", NOW))
    finally:
        db_sqlite.thread_calls(token)
    await raw_sql.fetch("SELECT 1")  # a call after the queued checkpoint: it has run
    checkpoints = [thread for thread, sql in seen if "wal_checkpoint" in sql]
    assert len(checkpoints) >= 2
    assert threading.get_ident() not in checkpoints
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size < 4 * 1024 * 1024  # a checkpoint's worth of pages, not them all
    assert await MessageLog.filter(chat_id="t4").count() == 3 * db_sqlite.CHECKPOINT_CHANGES
