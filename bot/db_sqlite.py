"""tortoise's SQLite client, made safe for several processes on one file.

tortoise begins transactions with a plain (deferred) BEGIN: a transaction that reads and
then writes takes the write lock only at its first write, and if another process wrote in
between, SQLite answers SQLITE_BUSY at once, without waiting (waiting could not help: the
snapshot is stale). BEGIN IMMEDIATE takes the write lock up front, so writers queue on the
busy timeout instead. A `database is locked` that outlives the timeout is retried at BEGIN,
where nothing has been done yet. Used as the engine of `sqlite://` URLs by bot.db.

A dialogue step's calls run right in the event loop's thread (`inline_calls`), not in
aiosqlite's: its statements are small and indexed, and the thread hand-off (queue, wake-up,
future, GIL ping-pong) cost more than SQLite's own work. A call that would wait for another
process's write lock never waits in the loop: it is tried without waiting and, when the lock
is taken, handed to aiosqlite's thread to wait there as before. Checkpoints, the one part
of SQLite's work that syncs files, run in that thread too, not in a step's COMMIT.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import ConnectionHandler, get_connections
from tortoise.context import get_current_context
from tortoise.exceptions import TransactionManagementError

T = TypeVar("T")
log = logging.getLogger("priyom.db")
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another process's transaction
BEGIN_ATTEMPTS = 3  # BEGIN IMMEDIATE tries, each waiting up to the busy timeout
READER_TIMEOUT_S = 0.05  # a loop-thread read waits no longer; then it takes the usual way
# Rows changed between checkpoints: a step changes about 4 rows, 6-8 WAL pages, so about
# 500 pages (SQLite's own default: 1000). The steps that come while one runs queue behind
# it: at 1000 rows p99 at 200 updates/s was 19-20 ms, at 300 12.5-13 (bench/flow_bench.py).
CHECKPOINT_CHANGES = 300


_INLINE = contextvars.ContextVar("priyom_sqlite_inline", default=False)


def inline_calls() -> contextvars.Token[bool]:
    """From here on (in this task and the tasks it starts) the SQLite connection's calls
    run in the event loop's thread; give the token to `thread_calls` when done."""
    return _INLINE.set(True)


def thread_calls(token: contextvars.Token[bool]) -> None:
    _INLINE.reset(token)


class StepDatabase(sqlite3.Connection):
    """The sqlite3 connection under tortoise's client: `waits` is False while a call runs
    in the event loop's thread, where a BEGIN must not wait on the busy timeout."""

    waits = True


def is_locked(exc: BaseException) -> bool:
    return "database is locked" in str(exc) or "database is busy" in str(exc)


async def begin_immediate(connection: Any) -> None:
    """Take the write lock now (one hand-off to aiosqlite's thread)."""
    await connection._execute(begin_immediate_in_thread, connection._conn)


async def in_thread(client: Any, work: Callable[..., T], *args: Any) -> T:
    """`work(sqlite3 connection, *args)` in aiosqlite's thread as one hand-off, in the
    client's turn (a transaction's wrapper: within it). aiosqlite runs its thread's calls
    one by one in the order they were queued, so a call queued while tortoise's lock is
    free cannot interleave with a transaction of this process (one holds that lock from
    before its BEGIN until after its end): it is queued at once, without the lock's
    acquire and release; a held lock is waited for, as tortoise does."""
    connection = client._connection
    if connection is not None and not client._lock.locked():
        return await connection._execute(work, connection._conn, *args)
    async with client.acquire_connection() as connection:
        return await connection._execute(work, connection._conn, *args)


def begin_immediate_in_thread(db: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, in aiosqlite's thread: the busy timeout waits, and a lock another
    process held past it is tried again."""
    attempts = BEGIN_ATTEMPTS if getattr(db, "waits", True) else 1
    for attempt in range(1, attempts + 1):
        try:
            db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or attempt == attempts:
                raise
            log.warning("sqlite_begin_locked", extra={"attempt": attempt})


def begin_with_next_call(db: sqlite3.Connection) -> None:
    """A transaction's BEGIN IMMEDIATE, run just before its first statement (the prelude
    of PreludeConnection). If it fails, a plain BEGIN still opens the transaction before
    the error is raised: statements of a caller that swallowed it run inside the
    transaction its context ends, never each committed on its own."""
    try:
        begin_immediate_in_thread(db)
    except BaseException:
        if not db.in_transaction:
            db.execute("BEGIN")
        raise


class PreludeConnection(aiosqlite.Connection):
    """aiosqlite's connection whose next call may carry a prelude: the BEGIN of a
    transaction runs with its first statement, not in a hand-off of its own (a round trip
    less per transaction). The prelude is set while the transaction holds tortoise's lock,
    so the next call on the connection is that transaction's own.

    Under `inline_calls` a call runs in the loop's thread when none is queued in
    aiosqlite's (its calls keep their order). One begun outside a transaction could meet
    another process's write lock: it runs without waiting and, if the lock is taken
    before it changed anything, is rolled back and queued to wait in the thread."""

    prelude: Callable[[sqlite3.Connection], None] | None = None
    busy_timeout_ms = BUSY_TIMEOUT_MS
    _queued = 0  # calls put into aiosqlite's thread (written in the loop's thread only)
    _finished = 0  # of those, the ones it has run (written in aiosqlite's thread only)
    _checkpointed = 0  # total_changes at the last checkpoint (written in aiosqlite's thread)

    async def _execute(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """aiosqlite 0.22's `_execute`, with the prelude folded into the queued call."""
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if self._queued == self._finished and _INLINE.get():
            try:
                return self._run_here(fn, args, kwargs)
            except _WouldWait:
                pass
        function = functools.partial(fn, *args, **kwargs)
        prelude = self.prelude
        if prelude is not None:
            self.prelude = None
            function = functools.partial(_after, prelude, self._connection, function)
        future = asyncio.get_running_loop().create_future()
        self._queued += 1
        self._tx.put_nowait((future, functools.partial(self._counted, function)))
        return await future

    def _counted(self, function: Callable[[], T]) -> T:
        """Runs in aiosqlite's thread: the call, then a checkpoint when one is due."""
        try:
            return function()
        finally:
            try:
                self._checkpoint_if_due()
            finally:
                self._finished += 1

    def _checkpoint_if_due(self) -> None:
        """The WAL copied back into the database file (SQLite's automatic checkpoint is
        off on this connection: it would run in a step's COMMIT, in the loop's thread). A
        passive one never waits for other connections; a busy file is tried again later."""
        db = self._connection
        try:
            if db is None or db.in_transaction:
                return
            if db.total_changes - self._checkpointed < CHECKPOINT_CHANGES:
                return
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self._checkpointed = db.total_changes
        except sqlite3.ProgrammingError:  # the call closed the connection
            return
        except sqlite3.Error as exc:
            log.warning("sqlite_checkpoint_failed", extra={"error": type(exc).__name__})

    def _checkpoint_soon(self) -> None:
        """After a call in the loop's thread: a due checkpoint queued to aiosqlite's."""
        db = self._connection
        if db is not None and db.total_changes - self._checkpointed >= CHECKPOINT_CHANGES:
            self._queued += 1
            self._tx.put_nowait((None, functools.partial(self._counted, _nothing)))

    def _run_here(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        """The call in the loop's thread; _WouldWait (nothing done) if it met a lock."""
        db = self._connection
        prelude = self.prelude
        if prelude is None and db.in_transaction:  # holds the write lock: nothing to wait for
            result = fn(*args, **kwargs)
            if not db.in_transaction:  # the call ended the transaction
                self._checkpoint_soon()
            return result
        self.prelude = None
        changes = db.total_changes
        db.execute("PRAGMA busy_timeout = 0")
        db.waits = False
        try:
            if prelude is not None:
                prelude(db)
            result = fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not is_locked(exc) or db.total_changes != changes:
                raise
            if db.in_transaction:
                db.execute("ROLLBACK")
            self.prelude = prelude
            raise _WouldWait from exc
        finally:
            db.waits = True
            db.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        self._checkpoint_soon()
        return result


def _nothing() -> None:
    return None


class _WouldWait(Exception):
    """A call in the loop's thread met another process's lock before changing anything."""


def _after(prelude: Callable[[sqlite3.Connection], None], db: sqlite3.Connection, call: Any) -> Any:
    prelude(db)
    return call()


class ImmediateClient(SqliteClient):
    """Autocommit statements wait on the busy timeout; transactions begin IMMEDIATE."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        kwargs.setdefault("busy_timeout", BUSY_TIMEOUT_MS)
        super().__init__(file_path, **kwargs)

        self._reader: sqlite3.Connection | None = None
        self._reader_checked = False

    async def create_connection(self, with_db: bool) -> None:
        """tortoise's, on a connection any thread may use (a step's calls run in the
        loop's) and that is a PreludeConnection (aiosqlite's, one method more)."""
        if self._connection:
            return
        connection = await aiosqlite.connect(
            self.filename, isolation_level=None, check_same_thread=False, factory=StepDatabase
        )
        connection.__class__ = PreludeConnection
        connection._conn.row_factory = sqlite3.Row
        for pragma, value in self.pragmas.items():
            await (await connection.execute(f"PRAGMA {pragma}={value}")).close()
        connection.busy_timeout_ms = int(self.pragmas["busy_timeout"])
        await (await connection.execute("PRAGMA wal_autocheckpoint = 0")).close()
        self._connection = connection
        await self._post_connect()

    def _in_transaction(self) -> TransactionContext:
        return ImmediateTransactionContext(ImmediateTransaction(self), self._lock)

    def reader(self) -> sqlite3.Connection | None:
        """A second, query-only connection to the file, for tiny reads made right in the
        event loop's thread (bot.booking.versions): in WAL mode a reader never waits for a
        writer, and skipping aiosqlite's thread saves its hand-off, about a third of a
        small query's cost. It sees what is committed, as a read outside a transaction
        does. None for an in-memory database or outside WAL mode (a reader could wait)."""
        if not self._reader_checked:
            self._reader_checked = True
            self._reader = self._open_reader()
        return self._reader

    def read_now(self, sql: str, params: tuple = ()) -> list[tuple] | None:
        """A tiny read by the reader, in the loop's thread; None where it cannot be (no
        reader, or busy past its short timeout): the caller then reads the usual way."""
        reader = self.reader()
        if reader is None:
            return None
        try:
            return reader.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            return None

    def _open_reader(self) -> sqlite3.Connection | None:
        if self.filename == ":memory:" or self.filename.startswith("file::memory:"):
            return None
        reader = sqlite3.connect(  # used by one loop at a time, as tortoise's client is
            self.filename, timeout=READER_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        reader.execute("PRAGMA query_only = ON")
        if reader.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            reader.close()
            return None
        return reader

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader, self._reader_checked = None, False
        await super().close()

    @translate_exceptions
    async def execute_many(self, query: str, values: list[list]) -> None:
        async with self.acquire_connection() as connection:
            await begin_immediate(connection)
            try:
                await connection.executemany(query, values)
            except Exception:
                await connection.rollback()
                raise
            else:
                await connection.commit()


class ImmediateTransactionContext(SqliteTransactionContext):
    """tortoise's context, but a failed BEGIN gives back the lock and the context variable
    (else the process's next transaction would wait for that lock forever), and the
    connections are found without tortoise's per-call import (every effect step enters)."""

    async def __aenter__(self) -> Any:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = _connections().set(self.connection_name, self.connection)
        except BaseException:
            self._trxlock.release()
            raise
        try:
            await self.connection.begin()
        except BaseException:
            _connections().reset(self.token)
            self._trxlock.release()
            raise
        return self.connection

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        """tortoise's: commit, or roll back on an error (not after a failed BEGIN); nothing
        when the step ended the transaction itself (bot.dialog_store.save_and_commit)."""
        try:
            if not self.connection._finalized:
                if exc_type is None:
                    await self.connection.commit()
                elif exc_type is not TransactionManagementError:
                    await self.connection.rollback()
        finally:
            _connections().reset(self.token)
            self._trxlock.release()


def _connections() -> ConnectionHandler:
    """tortoise's `get_connections()` without its import on every call."""
    context = get_current_context()
    return context.connections if context is not None else get_connections()


class ImmediateTransaction(SqliteTransactionWrapper):
    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ImmediateTransaction(self))

    async def begin(self) -> None:
        """tortoise commits before every BEGIN; the connection is in autocommit mode, so that
        COMMIT is a no-op costing a round trip to aiosqlite's thread: only when a transaction
        was left open (never, short of a bug) is it still committed. BEGIN IMMEDIATE itself
        goes with the transaction's first statement (PreludeConnection); a transaction
        that ends before any is nothing to commit or roll back."""
        try:
            if self._connection.in_transaction:
                await self._connection.commit()
            if isinstance(self._connection, PreludeConnection):
                self._connection.prelude = begin_with_next_call
            else:
                await begin_immediate(self._connection)
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc

    async def commit(self) -> None:
        if not self._unbegun():
            await super().commit()

    async def rollback(self) -> None:
        if not self._unbegun():
            await super().rollback()

    def _unbegun(self) -> bool:
        """Whether the transaction's BEGIN is still waiting for a statement: its end is then
        only marked (nothing ran, nothing holds the write lock)."""
        connection = self._connection
        if self._finalized or getattr(connection, "prelude", None) is not begin_with_next_call:
            return False
        connection.prelude = None
        self._finalized = True
        return True


client_class = ImmediateClient
