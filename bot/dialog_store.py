"""The end of a dialogue step: its message-log rows and the versioned conversation update.

Most steps change nothing but the conversation (a button pressed, a page turned): on
SQLite such a step is committed in ONE round trip to aiosqlite's thread (BEGIN IMMEDIATE,
the log rows, the update, COMMIT), where tortoise spends four and builds each statement
anew; on PostgreSQL in one statement (bot.dialog_store_pg). The update is conditional on
the version read, as always: a step that lost to another process's commit changes nothing
and is run again. Other databases, and steps that also write other rows, take tortoise's
transaction (`save`); on PostgreSQL its log rows and update are that same one statement,
run on the transaction's connection.

A step may carry a receipt (the id of the delivery that caused it: a webhook's message id,
a Telegram bot's update id). Its row is inserted in the same round trip, in the same
transaction as the change: a delivery already recorded makes the commit roll back and
raise `Redelivered`, so a redelivered update changes nothing and nothing is sent for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from asyncpg.exceptions import UniqueViolationError
from tortoise.backends.sqlite.client import SqliteTransactionWrapper
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot import privacy, raw_sql
from bot.db_postgres import PostgresClient
from bot.db_sqlite import ImmediateClient, begin_immediate_in_thread, in_thread
from bot.dialog_store_pg import commit_step
from bot.models import Conversation, InboundMessage, MessageLog


class _Lost(Exception):
    """The versioned update found a newer version: nothing of the step may stay."""


class Redelivered(Exception):
    """The step's receipt is recorded already: it was applied before, nothing may stay."""


LOG_COLUMNS = ("channel", "chat_id", "client_id", "lead_id", "direction", "author", "kind")
LOG_COLUMNS += ("text", "at")
INSERT_LOG = 'INSERT INTO "message_log" ({}) VALUES ({})'.format(
    ", ".join(f'"{c}"' for c in LOG_COLUMNS), ", ".join("?" * len(LOG_COLUMNS))
)
INSERT_RECEIPT = (
    'INSERT INTO "inbound_message" ("channel", "chat_id", "message_id", "at") '
    'VALUES (?, ?, ?, ?) ON CONFLICT ("channel", "message_id") DO NOTHING'
)
UPDATED_AT = 2  # the position of "updated_at" among UPDATE_CONVERSATION's values
UPDATE_CONVERSATION = (
    'UPDATE "conversation" SET "state" = ?, "version" = ?, "updated_at" = ?, "client_id" = ?, '
    '"lead_id" = ? WHERE "id" = ? AND "version" = ?'
)


STATE_JSON = json.JSONEncoder(separators=(",", ":"))
"""The conversation's state as tortoise's JSONField writes it (`json.dumps` with these
separators), the encoder built once: tortoise's field validates and builds one per step."""


@dataclasses.dataclass(slots=True)
class LogRow:
    """A message-log row as a step builds it: a tortoise model costs ten times as much to
    make, and a step that commits alone only needs the values (`model()` for the ORM)."""

    channel: str
    chat_id: str
    client_id: int | None
    lead_id: int | None
    direction: str
    author: str
    kind: str
    text: str | None
    at: dt.datetime

    @classmethod
    def of(
        cls,
        conv: Conversation,
        direction: str,
        author: str,
        kind: str,
        text: str | None,
        now: dt.datetime,
    ) -> LogRow:
        """A row of the conversation's chat; its text only once the client has consented."""
        text = text if conv.client_id is not None else None
        return cls(
            conv.channel,
            conv.chat_id,
            conv.client_id,
            conv.lead_id,
            direction,
            author,
            kind,
            text,
            now,
        )

    def model(self) -> MessageLog:
        return MessageLog(**{column: getattr(self, column) for column in LOG_COLUMNS})


async def save(
    conv: Conversation,
    version: int,
    state: dict,
    now: dt.datetime,
    logs: Sequence[LogRow | MessageLog],
    receipt: str | None = None,
) -> bool:
    """Within the step's transaction: the receipt, the log rows and the update (False: a
    stale version; Redelivered: the receipt is there already, the caller rolls back).
    On SQLite one hand-off to aiosqlite's thread, on PostgreSQL one statement."""
    client = raw_sql.current_client()
    rows, update, received = _values(conv, version, state, now, logs, receipt)
    if isinstance(client, SqliteTransactionWrapper):
        return await in_thread(client, _save_rows, rows, update, received)
    if client.capabilities.dialect == "postgres":
        return await _commit_pg(client, rows, update, received)
    if receipt is not None:
        await _record(conv.channel, conv.chat_id, receipt, now)
    await MessageLog.bulk_create([_model(row) for row in logs])
    saved = await Conversation.filter(id=conv.id, version=version).update(
        state=state,
        version=version + 1,
        updated_at=now,
        client_id=conv.client_id,
        lead_id=conv.lead_id,
    )
    return bool(saved)


async def save_and_commit(
    conv: Conversation,
    version: int,
    state: dict,
    now: dt.datetime,
    logs: Sequence[LogRow | MessageLog],
    receipt: str | None = None,
) -> bool:
    """`save` as the step's last act, its COMMIT (or, on a stale version, ROLLBACK) in the
    same hand-off to aiosqlite's thread on SQLite: the transaction's context then only
    gives back its lock. Elsewhere, and inside a savepoint, `save`; the context commits."""
    client = raw_sql.current_client()
    if not isinstance(client, SqliteTransactionWrapper) or isinstance(
        client._parent, SqliteTransactionWrapper
    ):
        return await save(conv, version, state, now, logs, receipt)
    rows, update, received = _values(conv, version, state, now, logs, receipt)
    saved = await in_thread(client, _save_and_end, rows, update, received)
    client._finalized = True  # committed or rolled back: the context must not again
    return saved


def _save_and_end(
    db: sqlite3.Connection, rows: Sequence[tuple], update: tuple, received: tuple | None
) -> bool:
    """Runs in aiosqlite's thread; an error (Redelivered too) leaves the transaction to
    the context, which rolls it back."""
    saved = _save_rows(db, rows, update, received)
    db.execute("COMMIT" if saved else "ROLLBACK")
    return saved


def _values(
    conv: Conversation,
    version: int,
    state: dict,
    now: dt.datetime,
    logs: Sequence[LogRow | MessageLog],
    receipt: str | None,
) -> tuple[list[tuple], tuple, tuple | None]:
    """The parameters of INSERT_LOG (a row each), UPDATE_CONVERSATION and INSERT_RECEIPT."""
    update = _update_values(conv, version, state, now)
    at = update[UPDATED_AT]  # `now` as stored: the step's log rows are at that time too
    rows = [_log_values(row, now, at) for row in logs]
    return rows, update, _receipt_values(conv, receipt, update)


def _update_values(conv: Conversation, version: int, state: dict, now: dt.datetime) -> tuple:
    """UPDATE_CONVERSATION's values: the state as JSON text, as tortoise writes it."""
    return (
        STATE_JSON.encode(state) if type(state) is dict else _db(Conversation, "state", state),
        version + 1,
        _db(Conversation, "updated_at", now),
        conv.client_id,
        conv.lead_id,
        conv.id,
        version,
    )


def _receipt_values(conv: Conversation, receipt: str | None, update: tuple) -> tuple | None:
    """INSERT_RECEIPT's values, at the update's time as stored (the same `now`, converted
    once), under the chat as the step leaves it: a step that erased the chat (/forget)
    records its receipt under the pseudonyms erasure gives the older ones (a WhatsApp
    message id encodes the number)."""
    if receipt is None:
        return None
    if privacy.is_erased(conv.chat_id):
        receipt = privacy.erased_id(conv.channel, receipt)
    return (conv.channel, conv.chat_id, receipt, update[UPDATED_AT])


def _save_rows(
    db: sqlite3.Connection, rows: Sequence[tuple], update: tuple, received: tuple | None
) -> bool:
    """Runs in aiosqlite's thread, inside the step's open transaction."""
    if received is not None and db.execute(INSERT_RECEIPT, received).rowcount != 1:
        raise Redelivered
    db.executemany(INSERT_LOG, rows)
    return db.execute(UPDATE_CONVERSATION, update).rowcount == 1


async def answered_last(conv: Conversation, receipt: str) -> bool:
    """Whether `receipt`'s step is the one that saved the conversation last: the chat's
    newest receipt, written at the step's time, the conversation's `updated_at`."""
    row = (
        await InboundMessage.filter(channel=conv.channel, chat_id=conv.chat_id)
        .order_by("-id")
        .first()
    )
    return row is not None and row.message_id == receipt and row.at == conv.updated_at


async def _record(channel: str, chat_id: str, receipt: str, now: dt.datetime) -> None:
    """The receipt through the ORM (databases with no one-round-trip path)."""
    try:
        await InboundMessage.create(channel=channel, chat_id=chat_id, message_id=receipt, at=now)
    except IntegrityError as exc:
        raise Redelivered from exc


async def _commit_pg(
    client: Any, rows: Sequence[tuple], update: tuple, received: tuple | None
) -> bool:
    """The PostgreSQL statement; the unique receipt's violation aborts all of it."""
    try:
        return await commit_step(client, rows, update, received)
    except UniqueViolationError as exc:
        if exc.table_name != InboundMessage._meta.db_table:
            raise
        raise Redelivered from exc


async def commit_alone(
    conv: Conversation,
    version: int,
    state: dict,
    now: dt.datetime,
    logs: Sequence[LogRow | MessageLog],
    receipt: str | None = None,
) -> bool:
    """A step that writes nothing else (but its receipt), committed on its own (False: a
    stale version; Redelivered: the receipt is recorded already; either way nothing
    stays)."""
    client = raw_sql.current_client()
    if not isinstance(client, ImmediateClient | PostgresClient):
        try:
            async with in_transaction():
                if not await save(conv, version, state, now, logs, receipt):
                    raise _Lost  # roll the log rows back with it
        except _Lost:
            return False
        return True
    rows, update, received = _values(conv, version, state, now, logs, receipt)
    if isinstance(client, PostgresClient):
        return await _commit_pg(client, rows, update, received)
    # aiosqlite runs the function in its thread: the whole transaction is one hand-off.
    return await in_thread(client, _commit, rows, update, received)


def _db(model: Any, field: str, value: Any) -> Any:
    """A value as tortoise would store it (UTC datetimes, JSON text)."""
    return model._meta.fields_map[field].to_db_value(value, model)


def _model(row: LogRow | MessageLog) -> MessageLog:
    return row.model() if isinstance(row, LogRow) else row


def _log_values(row: LogRow | MessageLog, now: dt.datetime, at: Any) -> tuple:
    """INSERT_LOG's values (LOG_COLUMNS' order); `at`: `now` as stored (most rows are the
    step's own)."""
    when = at if row.at is now else _db(MessageLog, "at", row.at)
    return (
        row.channel, row.chat_id, row.client_id, row.lead_id, row.direction, row.author,
        row.kind, row.text, when,
    )  # fmt: skip


def _commit(
    db: sqlite3.Connection, rows: Sequence[tuple], update: tuple, received: tuple | None
) -> bool:
    """Runs in aiosqlite's thread, holding tortoise's connection lock."""
    begin_immediate_in_thread(db)
    try:
        return _save_and_end(db, rows, update, received)
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
