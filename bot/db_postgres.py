"""tortoise's asyncpg client without a round trip to reset each connection it gives back.

tortoise takes a pool connection for every query outside a transaction and for every
transaction, and asyncpg's pool resets a connection whenever it comes back: by default
`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, one more round trip
and four statements for the server per query. Profiled under the multi-instance bench
that was a quarter of a bot process's database time. Nothing of ours leaves session state
on these connections (advisory locks live on bot.chat_lock's own pool, nobody LISTENs or
SETs, cursors end with their transaction), so the reset is left out. asyncpg still rolls
back a transaction left open (Connection._reset runs before the pool's reset) without a
round trip when there is none. Used as the engine of PostgreSQL URLs by bot.db.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def keep_session(connection: Any) -> None:
    """The pool's reset: nothing to undo (see the module's docstring)."""


class PostgresClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> Any:
        return await super().create_pool(reset=keep_session, **kwargs)


client_class = PostgresClient
