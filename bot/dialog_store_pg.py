"""A plain dialogue step on PostgreSQL in one statement, one round trip.

tortoise's transaction costs a plain step four round trips on PostgreSQL (BEGIN, the log
rows, the versioned update, COMMIT), each statement built anew. Here the update and the
log rows are one statement, which PostgreSQL runs atomically: the rows are inserted only
when the update found the version the step read (a step that lost to another process's
commit writes nothing and is run again, as on every path). asyncpg prepares it once per
connection. bot.dialog_store decides when a step is plain and builds the values; a step
that writes other rows too runs the statement last in its transaction (where a stale
version writes nothing either, and the step's other writes roll back with the rerun).

A step with a receipt inserts it in the same statement, only when the update found its
version; a receipt recorded before (a redelivered update, maybe applied by another
instance) violates its unique key, which aborts the whole statement: nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

COMMIT = """
WITH saved AS (
    UPDATE "conversation" SET "state" = $1::jsonb, "version" = $2, "updated_at" = $3,
        "client_id" = $4, "lead_id" = $5
    WHERE "id" = $6 AND "version" = $7
    RETURNING 1
), logged AS (
    INSERT INTO "message_log" ("channel", "chat_id", "client_id", "lead_id", "direction",
        "author", "kind", "text", "at")
    SELECT * FROM unnest($8::text[], $9::text[], $10::int[], $11::int[], $12::text[],
        $13::text[], $14::text[], $15::text[], $16::timestamptz[])
    WHERE EXISTS (SELECT 1 FROM saved)
    RETURNING 1
)
SELECT count(*) FROM saved
"""
RECEIVED = """, received AS (
    INSERT INTO "inbound_message" ("channel", "chat_id", "message_id", "at")
    SELECT $17::text, $18::text, $19::text, $20::timestamptz WHERE EXISTS (SELECT 1 FROM saved)
    RETURNING 1
)
SELECT count(*) FROM saved"""
COMMIT_RECEIVED = COMMIT.replace("\nSELECT count(*) FROM saved", RECEIVED)
"""COMMIT with the step's receipt (no ON CONFLICT: a duplicate must fail the statement)."""
LOG_ARRAYS = 9  # the columns of a log row, in bot.dialog_store.LOG_COLUMNS order


async def commit_step(
    client: Any, rows: Sequence[tuple], update: tuple, received: tuple | None = None
) -> bool:
    """`update`: the values of bot.dialog_store.UPDATE_CONVERSATION; `rows`: the log rows;
    `received`: INSERT_RECEIPT's, or None. False when the version was not the one read
    (nothing written); asyncpg's UniqueViolationError for a receipt recorded before."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * LOG_ARRAYS
    arrays = (list(c) for c in columns)
    async with client.acquire_connection() as connection:
        if received is None:
            saved = await connection.fetchval(COMMIT, *update, *arrays)
        else:
            saved = await connection.fetchval(COMMIT_RECEIVED, *update, *arrays, *received)
    return saved == 1
