"""One step at a time per chat across processes, decided by the database.

Two quick messages of one client may land on two instances behind the load balancer. On
PostgreSQL a step holds a session-level advisory lock keyed by (channel, chat) from
before it reads the conversation until its replies are sent, so the second message
waits for the first one's commit and answers, then reads its effect. PostgreSQL queues
the waiters of one lock in the order they asked, so updates of a chat are applied in the
order they reached the lock. handlers.telegram_webhook acknowledges an update only once
its step has its turn, so Telegram's next update of the chat (sent after that 200) queues
behind it. The lock lives on a connection of its own small pool (not tortoise's): a step
waiting for a lock never holds a connection another step needs to
finish, and a process that dies closes its connections, which frees its locks.

On SQLite (one machine) the write lock already serialises processes and the in-process
lock (bot.dialogs) keeps a process's own tasks in order: nothing is taken here.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from bot import raw_sql
from bot.booking import versions

log = logging.getLogger("priyom.chat_lock")
POOL_SIZE = 20  # steps of different chats in flight per process; more wait for a connection
MIGRATION_KEY = 0x5052_4959_4F4D_4D47  # "PRIYOMMG": `python -m bot migrate` and start-up

TURN_FUNCTION = """
CREATE FUNCTION pg_temp.priyom_chat_turn(bigint, text, text)
RETURNS TABLE (saved conversation, cache_keys text[], cache_versions bigint[])
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_lock($1);
    RETURN QUERY SELECT
        (SELECT c FROM conversation c WHERE c.channel = $2 AND c.chat_id = $3),
        array_agg(v.key::text), array_agg(v.version)
    FROM cache_version v;
END $$
"""
"""The lock, the conversation as saved and the cache counters (bot.booking.versions), in
one round trip. The reads must see what the lock's previous holder committed: one
statement (`SELECT pg_advisory_lock(..), (SELECT version ..)`) reads with the snapshot
taken when it began, before the wait, so it may miss what the holder saved meanwhile. A
VOLATILE function takes a fresh snapshot for each statement it runs, after the lock is
granted. A session's own (pg_temp) function: created on a lock connection's first turn
(the tables exist by then), no migration, nothing left behind; `saved` is the table's row
type (NULL: no conversation yet), so it follows the table's columns."""
TURN_SQL = "SELECT * FROM pg_temp.priyom_chat_turn($1, $2, $3)"
Take = Callable[[Any], Awaitable[None]] | None

_pools: dict[int, Any] = {}  # id(tortoise client) → asyncpg pool for locks
_ASYNCPG_BASED: dict[type, bool] = {}  # tortoise client class → whether it is asyncpg's
_NOT_HELD = contextlib.nullcontext()  # the turn where nothing is taken (SQLite)


def key_of(name: str) -> int:
    """A signed 64-bit advisory-lock key for a name (a collision only serialises two chats)."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


def _postgres_client() -> Any | None:
    """Tortoise's asyncpg client of the default connection, or None (SQLite, not set up)."""
    try:
        client = raw_sql.current_client()
    except Exception:
        return None
    kind = type(client)
    asyncpg_based = _ASYNCPG_BASED.get(kind)
    if asyncpg_based is None:  # once per client class: every step asks
        asyncpg_based = _ASYNCPG_BASED[kind] = any(
            k.__module__.startswith("tortoise.backends.asyncpg") for k in kind.__mro__
        )
    return client if asyncpg_based else None


async def _pool(client: Any) -> Any:
    pool = _pools.get(id(client))
    if pool is None:
        import asyncpg

        pool = await asyncpg.create_pool(
            None,
            host=client.host,
            port=client.port,
            user=client.user,
            password=client.password,
            database=client.database,
            server_settings=client.server_settings,
            min_size=0,
            max_size=POOL_SIZE,
            reset=_release,
            **client.extra,
        )
        _pools[id(client)] = pool
    return pool


def advisory(key: int, take: Take = None) -> contextlib.AbstractAsyncContextManager[None]:
    """Hold PostgreSQL's advisory lock `key` on a connection of its own (no-op elsewhere);
    `take` takes it on that connection (default: the lock alone)."""
    client = _postgres_client()
    return _NOT_HELD if client is None else _advisory(client, key, take)


@contextlib.asynccontextmanager
async def _advisory(client: Any, key: int, take: Take) -> AsyncIterator[None]:
    pool = await _pool(client)
    # Giving the connection back releases the lock (`_release`), even when the wait for it
    # was cancelled just as it was granted; a connection that fails that is closed.
    async with pool.acquire() as connection:
        if take is None:
            await connection.execute("SELECT pg_advisory_lock($1)", key)
        else:
            await take(connection)
        yield


async def _release(connection: Any) -> None:
    """The pool's reset: only what a lock connection changes, in one round trip."""
    await connection.execute("SELECT pg_advisory_unlock_all()")


def chat_turn(
    channel: str, chat_id: str, saved: Callable[[Mapping[str, Any] | None], None] | None = None
) -> contextlib.AbstractAsyncContextManager[None]:
    """The chat's turn across processes: enter before reading its conversation.

    `saved` hears the conversation's row (its columns) as committed when the turn began
    (None: no conversation yet), so a process can replace a copy another one has outdated
    instead of reading it again, or running the step on it and again. The turn's first
    `versions.read()` gets the cache counters as they were then. The lock and both reads
    are one round trip (TURN_FUNCTION). Elsewhere (SQLite) the turn takes nothing and
    costs nothing: no key is hashed, no generator is run."""
    client = _postgres_client()
    if client is None:
        return _NOT_HELD
    return _turn_on(client, channel, chat_id, saved)


@contextlib.asynccontextmanager
async def _turn_on(
    client: Any,
    channel: str,
    chat_id: str,
    saved: Callable[[Mapping[str, Any] | None], None] | None,
) -> AsyncIterator[None]:
    key = key_of(f"chat:{channel}:{chat_id}")
    if saved is None:
        async with _advisory(client, key, None):
            yield
        return
    counters: list[dict[str, int]] = []

    async def lock_and_read(connection: Any) -> None:
        row = await _turn(connection, key, channel, chat_id)
        saved(row["saved"])
        keys, counts = row["cache_keys"] or (), row["cache_versions"] or ()
        counters.append(dict(zip(keys, counts, strict=True)))

    async with _advisory(client, key, lock_and_read):
        with versions.prefetched(counters[0] if counters else None):
            yield


async def _turn(connection: Any, key: int, channel: str, chat_id: str) -> Any:
    import asyncpg

    try:
        return await connection.fetchrow(TURN_SQL, key, channel, chat_id)
    except (asyncpg.UndefinedFunctionError, asyncpg.InvalidSchemaNameError):  # a first turn
        await connection.execute(TURN_FUNCTION)
        return await connection.fetchrow(TURN_SQL, key, channel, chat_id)


async def close() -> None:
    """Close the lock pools (bot.db.close_db)."""
    pools = list(_pools.values())
    _pools.clear()
    for pool in pools:
        await pool.close()
