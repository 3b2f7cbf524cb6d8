"""The version counters of what each process caches (bot.cache_models), read once per step.

A client step reads every counter in one small query before anything else and runs with
that snapshot: a cache entry loaded at or after the snapshot serves it, an older one is
re-read. A change committed before the step began is therefore always seen, by any process.
"""

from __future__ import annotations

import contextlib
import contextvars
import sqlite3
from collections.abc import Iterator, Mapping

from bot import raw_sql
from bot.db_sqlite import ImmediateClient

CATALOG = "catalog"
READ = 'SELECT "key", "version" FROM "cache_version"'
Versions = Mapping[str, int]
_SNAPSHOT: contextvars.ContextVar[Versions | None] = contextvars.ContextVar(
    "priyom_versions", default=None
)
_PREFETCHED: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar(
    "priyom_versions_prefetched", default=None
)


def master_key(master_id: str) -> str:
    return f"master:{master_id}"


async def read() -> dict[str, int]:
    """All counters (a row per master and the catalog), raw SQL: this runs on every step.
    On SQLite a few rows are read right in the loop's thread (bot.db_sqlite's reader):
    the same committed state, without the round trip to aiosqlite's thread."""
    early = _PREFETCHED.get()
    if early is not None:  # read with the chat's turn (bot.chat_lock, PostgreSQL)
        _PREFETCHED.set(None)  # once: a step run again reads again
        return early
    client = raw_sql.current_client()
    reader = client.reader() if isinstance(client, ImmediateClient) else None
    if reader is not None:
        try:
            return dict(reader.execute(READ).fetchall())  # (key, version): INTEGER is int
        except sqlite3.OperationalError:  # busy past its short timeout: wait the usual way
            pass
    rows = await client.execute_query_dict(READ)
    return {row["key"]: int(row["version"]) for row in rows}


@contextlib.contextmanager
def prefetched(counters: dict[str, int] | None) -> Iterator[None]:
    """Within this block (a chat's turn), the first `read()` returns `counters`, read with
    the turn's lock: the same committed state, without a round trip of its own."""
    token = _PREFETCHED.set(counters)
    try:
        yield
    finally:
        _PREFETCHED.reset(token)


@contextlib.contextmanager
def snapshot(versions: Versions) -> Iterator[None]:
    """Within this block (one task's step), caches may serve what is as new as `versions`."""
    token = enter(versions)
    try:
        yield
    finally:
        leave(token)


def enter(versions: Versions) -> contextvars.Token:
    """`snapshot` without its generator, for the step's hot path: `leave(token)` ends it."""
    return _SNAPSHOT.set(versions)


def leave(token: contextvars.Token) -> None:
    _SNAPSHOT.reset(token)


@contextlib.contextmanager
def fresh() -> Iterator[None]:
    """Within this block the database is read, not the caches: for a step's own writes (a
    cancellation offering the time it just freed) that the step's snapshot predates."""
    token = _SNAPSHOT.set(None)
    try:
        yield
    finally:
        _SNAPSHOT.reset(token)


def current() -> Versions | None:
    """The running step's snapshot; None outside a client step (staff paths read the database)."""
    return _SNAPSHOT.get()
