"""The outbox's rows in prepared SQL (bot.raw_sql): a batch queued in one INSERT, a batch
sent recorded in one UPDATE, each row with its own message id and address."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Iterable, Sequence

from bot import metrics, raw_sql
from bot.models import Outbox, OutboxStatus

ERASED_AS = "erased_as"
"""Payload key: the pseudonym that replaces a row's chat id once the row has been sent."""

ROW_COLUMNS = ("bot", "channel", "chat_id", "kind", "payload", "dedup_key", "lead_id")
ROW_COLUMNS += ("status", "attempts", "due_at", "created_at", "locked_until")


@functools.lru_cache(maxsize=32)
def insert_sql(count: int, skip_known: bool = False) -> str:
    """One INSERT of `count` rows returning (id, dedup_key) of those written; `skip_known`:
    a row whose dedup key is queued already is left out, else it is an IntegrityError."""
    columns = ", ".join(f'"{c}"' for c in ROW_COLUMNS)
    one = "(" + ", ".join("?" * len(ROW_COLUMNS)) + ")"
    skip = ' ON CONFLICT ("dedup_key") DO NOTHING' if skip_known else ""
    values = ", ".join([one] * count)
    return f'INSERT INTO "outbox" ({columns}) VALUES {values}{skip} RETURNING "id", "dedup_key"'


def row_values(rows: Iterable[Outbox]) -> list:
    """The rows' values for `insert_sql`, in its order."""
    return [
        raw_sql.as_json(row.payload) if column == "payload" else _plain(getattr(row, column))
        for row in rows
        for column in ROW_COLUMNS
    ]


def _plain(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


@functools.lru_cache(maxsize=32)
def _mark_sent_sql(count: int) -> str:
    """One UPDATE for `count` sent rows, each with its own message id and address."""
    each = " ".join(["WHEN ? THEN CAST(? AS BIGINT)"] * count)
    address = " ".join(["WHEN ? THEN CAST(? AS VARCHAR(64))"] * count)
    return (
        'UPDATE "outbox" SET "status" = ?, "sent_at" = ?, "locked_until" = NULL, '
        f'"attempts" = "attempts" + 1, "message_id" = CASE "id" {each} END, '
        f'"chat_id" = CASE "id" {address} END WHERE "id" IN ({", ".join("?" * count)})'
    )


async def record_sent(sent: Sequence[tuple[Outbox, int | None]], now: dt.datetime) -> None:
    """Mark rows sent with their message ids: one prepared statement for the batch."""
    values: list = [OutboxStatus.SENT.value, now]
    for row, message_id in sent:
        values += (row.id, message_id)
    for row, _ in sent:
        values += (row.id, erased_address(row).get("chat_id", row.chat_id))
    values += [row.id for row, _ in sent]
    await raw_sql.execute(_mark_sent_sql(len(sent)), values)
    for row, _ in sent:
        metrics.delivered(row.channel, row.bot, ok=True)


def erased_address(row: Outbox) -> dict[str, str]:
    """The last answer to a chat erased by that very step keeps its real address only
    until it is sent (bot.delivery.step_outbox.queue_replies)."""
    alias = (row.payload or {}).get(ERASED_AS)
    return {"chat_id": alias} if isinstance(alias, str) else {}
