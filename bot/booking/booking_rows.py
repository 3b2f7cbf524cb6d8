"""A booking's rows written in prepared SQL: the visit, its master's cells, then the
overrides read back (bot.booking.booker.Booker.book decides what they mean).

The cells' unique (master, cell) pair is what refuses a double booking; the visit and its
cells go in under a savepoint, so a lost race leaves nothing and the step goes on. On
SQLite the savepoint, both inserts and the overrides' read are ONE hand-off to aiosqlite's
thread (tortoise spent six and built each statement anew); elsewhere (PostgreSQL) they are
three statements in tortoise's savepoint.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot import raw_sql
from bot.booking.slots import Changes, TimeChange
from bot.db_sqlite import in_thread
from bot.models import Appointment
from bot.schedule_models import OverrideKind

COLUMNS = ("lead_id", "client_id", "service_id", "addon_ids", "master_id", "start", "end")
COLUMNS += ("price_kop", "deposit_kop", "status", "created_at")
INSERT_APPOINTMENT = 'INSERT INTO "appointment" ({}) VALUES ({}) RETURNING "id"'.format(
    ", ".join(f'"{c}"' for c in COLUMNS), ", ".join("?" * len(COLUMNS))
)
INSERT_CELL = 'INSERT INTO "master_cell" ("master_id", "cell", "appointment_id") VALUES (?, ?, ?)'
SELECT_OVERRIDES = (
    'SELECT "master_id", "kind", "start", "end" FROM "schedule_override" WHERE "master_id" = ? '
    'AND "undone_at" IS NULL AND "end" > ? AND "start" < ?'
)
SAVEPOINT = "booker_book"


async def insert(
    row: dict[str, Any],
    cells: Sequence[tuple[str, int]],
    master_id: str,
    since: dt.datetime,
    until: dt.datetime,
) -> tuple[Appointment, Changes] | None:
    """Write the visit (`row`: its COLUMNS) and its cells; None when a cell is taken (no
    model is built for a lost race: most that pass the snapshot under load lose here).
    Else the visit, and the master's active overrides meeting [since, until), read after
    the write."""
    values = raw_sql.db_values([_value(row, c) for c in COLUMNS])
    window = tuple(raw_sql.db_values((master_id, since, until)))
    client = raw_sql.current_client()
    if isinstance(client, SqliteClient):
        found = await in_thread(client, _write, values, cells, window)
        if found is None:
            return None
        appointment_id, overrides = found
    else:
        try:
            async with in_transaction():  # a savepoint in the caller's transaction
                ((appointment_id,),) = await raw_sql.fetch(INSERT_APPOINTMENT, values)
                rows = [(m, c, appointment_id) for m, c in cells]
                await raw_sql.execute_many(INSERT_CELL, rows)
        except IntegrityError:
            return None
        overrides = await raw_sql.fetch(SELECT_OVERRIDES, window)
    appointment = Appointment(id=appointment_id, **row)
    appointment._saved_in_db = True  # as Appointment.create leaves it
    return appointment, _changes(overrides)


def _value(row: dict[str, Any], column: str) -> Any:
    value = row[column]
    if column == "addon_ids":
        return raw_sql.as_json(value)
    return value.value if column == "status" else value


def _write(
    db: sqlite3.Connection, values: list, cells: Sequence[tuple[str, int]], window: tuple
) -> tuple[int, list] | None:
    """Runs in aiosqlite's thread, holding tortoise's connection lock."""
    db.execute(f"SAVEPOINT {SAVEPOINT}")
    try:
        ((appointment_id,),) = db.execute(INSERT_APPOINTMENT, values).fetchall()
        db.executemany(INSERT_CELL, [(m, c, appointment_id) for m, c in cells])
    except BaseException as exc:
        db.execute(f"ROLLBACK TO {SAVEPOINT}")
        db.execute(f"RELEASE {SAVEPOINT}")
        if isinstance(exc, sqlite3.IntegrityError):
            return None
        raise
    db.execute(f"RELEASE {SAVEPOINT}")
    return appointment_id, db.execute(SELECT_OVERRIDES, window).fetchall()


def _changes(rows: Sequence[Sequence[Any]]) -> Changes:
    found: dict[str, list[TimeChange]] = defaultdict(list)
    for master_id, kind, start, end in rows:
        found[master_id].append(
            TimeChange(_moment(start), _moment(end), kind == OverrideKind.EXTRA_SHIFT)
        )
    return found


def _moment(value: Any) -> dt.datetime:
    """SQLite hands back the text tortoise wrote; PostgreSQL a datetime."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value
