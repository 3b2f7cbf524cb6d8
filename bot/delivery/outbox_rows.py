"""The outbox's rows in prepared SQL (bot.raw_sql): a batch queued in one INSERT, a send
recorded in one UPDATE with its message id and address."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Iterable

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


MARK_SENT = (
    'UPDATE "outbox" SET "status" = ?, "sent_at" = ?, "locked_until" = NULL, '
    '"attempts" = "attempts" + 1, "message_id" = ?, "chat_id" = ? WHERE "id" = ?'
)


async def record_sent(row: Outbox, message_id: int | None, now: dt.datetime) -> None:
    """Mark a row sent with its message id (and, for an erased chat, its pseudonym)."""
    address = erased_address(row).get("chat_id", row.chat_id)
    values = [OutboxStatus.SENT.value, now, message_id, address, row.id]
    await raw_sql.execute(MARK_SENT, values)
    metrics.delivered(row.channel, row.bot, ok=True)


def erased_address(row: Outbox) -> dict[str, str]:
    """The last answer to a chat erased by that very step keeps its real address only
    until it is sent (bot.delivery.step_outbox.queue_replies)."""
    alias = (row.payload or {}).get(ERASED_AS)
    return {"chat_id": alias} if isinstance(alias, str) else {}
