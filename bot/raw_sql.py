"""Prepared SQL on the hot path of a client step, through tortoise's own connection.

tortoise spends about 0.3 ms of Python per ORM query (the queryset, pypika, the model's
init, parsing the values back); a few writes of every booking and every sent reply need
none of that. Statements are written once with `?` placeholders; on PostgreSQL they are
numbered (`$1`…) once and cached. They run on the connection of the caller's transaction
(tortoise's context variable), so they commit or roll back with everything else.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.context import get_current_context
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.fields.data import JSON_DUMPS
from tortoise.models import Model

from bot.db_sqlite import ImmediateClient, in_thread

M = TypeVar("M", bound=Model)
Values = Sequence[Any] | Callable[[list[list[Any]]], Sequence[Any]]
"""A statement's parameters, or a function of the rows of the statements before it."""
Statement = tuple[str, Values]


def current_client() -> Any:
    """tortoise's `connections.get("default")` (this task's client: a transaction's wrapper
    inside one), read straight from the current context's storage. tortoise's own way
    imports a module and goes through a proxy on every call, and a step asks for it at
    every statement; the loop check is kept, and anything unusual takes tortoise's way."""
    context = get_current_context()
    if context is not None:
        client = context.connections._storage_var.get().get("default")
        if client is not None and client._check_loop():
            return client
    return connections.get("default")


_client = current_client


def is_postgres(client: Any | None = None) -> bool:
    return (client or _client()).capabilities.dialect == "postgres"


@functools.lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _for(client: Any, sql: str) -> str:
    return _numbered(sql) if is_postgres(client) else sql


def db_values(values: Sequence[Any]) -> list[Any]:
    """Parameters as tortoise writes them: an aware datetime in UTC. SQLite keeps datetimes
    as text and compares them as text, so an instant with another offset would sort wrong
    against every row tortoise wrote."""
    return [
        value.astimezone(dt.UTC)
        if isinstance(value, dt.datetime) and value.tzinfo is not None
        else value
        for value in values
    ]


async def execute(sql: str, values: Sequence[Any] = ()) -> int:
    """Run a write; the number of rows it changed."""
    client = _client()
    changed, _ = await client.execute_query(_for(client, sql), db_values(values))
    return changed


async def fetch(sql: str, values: Sequence[Any] = ()) -> list[Any]:
    """Rows of a query (or of a write's RETURNING), indexable by position."""
    client = _client()
    if is_postgres(client):  # its execute_query returns no rows for a write's RETURNING
        rows = await client.execute_query_dict(_for(client, sql), db_values(values))
        return [tuple(row.values()) for row in rows]
    _, rows = await client.execute_query(sql, db_values(values))
    return list(rows)


async def fetch_committed(sql: str, values: Sequence[Any] = ()) -> list[Any]:
    """Rows of a read that needs only what is committed (a cache's load, tagged with a
    snapshot taken before it): on SQLite in WAL mode read right in the loop's thread by
    the query-only reader (bot.db_sqlite), skipping the hand-off to aiosqlite's thread,
    even inside a transaction (whose own uncommitted rows it does not see); elsewhere,
    or when that reader is busy, as `fetch`."""
    found = _read_now(sql, values)
    return found[0] if found is not None else await fetch(sql, values)


def _read_now(sql: str, values: Sequence[Any]) -> tuple[list[Any], list[str]] | None:
    """The rows and column names of a read run by the loop-thread reader (SQLite in WAL
    mode); None where there is none, or when it is busy past its short timeout: then the
    caller reads the usual way."""
    reader = _reader()
    if reader is None:
        return None
    try:
        cursor = reader.execute(sql, db_values(values))
        return cursor.fetchall(), [column[0] for column in cursor.description or ()]
    except sqlite3.OperationalError:
        return None


def _reader() -> sqlite3.Connection | None:
    client = _client()
    while isinstance(getattr(client, "_parent", None), BaseDBAsyncClient):
        client = client._parent  # a transaction's wrapper: the client it was opened on
    return client.reader() if isinstance(client, ImmediateClient) else None


async def execute_many(sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """One statement for many rows, in the caller's transaction (one round trip)."""
    if rows:
        client = _client()
        await client.execute_many(_for(client, sql), [db_values(r) for r in rows])


async def fetch_each(statements: Sequence[Statement]) -> list[list[Any]]:
    """Statements of the caller's transaction in order, the rows of each (a write's
    RETURNING): on SQLite ONE hand-off to aiosqlite's thread, elsewhere one after another.
    A statement's values may be a function of the rows before it (an id just inserted)."""
    client = _client()
    if not isinstance(client, SqliteClient):
        found: list[list[Any]] = []
        for sql, values in statements:
            found.append(await fetch(sql, values(found) if callable(values) else values))
        return found
    try:
        return await in_thread(client, _fetch_each, statements)
    except sqlite3.IntegrityError as exc:  # as tortoise's own statements raise them
        raise IntegrityError(exc) from exc
    except sqlite3.OperationalError as exc:
        raise OperationalError(exc) from exc


def _fetch_each(db: sqlite3.Connection, statements: Sequence[Statement]) -> list[list[Any]]:
    """Runs in aiosqlite's thread, in the caller's transaction."""
    found: list[list[Any]] = []
    for sql, values in statements:
        params = db_values(values(found) if callable(values) else values)
        found.append(db.execute(sql, params).fetchall())
    return found


def as_json(value: Any) -> str:
    """A JSON column's value as tortoise writes it."""
    return JSON_DUMPS(value)


@functools.lru_cache(maxsize=64)
def _update_sql(table: str, columns: tuple[str, ...]) -> str:
    assignments = ", ".join(f'"{c}" = ?' for c in columns)
    return f'UPDATE "{table}" SET {assignments} WHERE "id" = ?'


async def save_fields(instance: Model, names: Sequence[str]) -> int:
    """`instance.save(update_fields=names)` as one prepared UPDATE (no queryset)."""
    return await execute(*update_of(instance, names))


def update_of(instance: Model, names: Sequence[str]) -> Statement:
    """`save_fields`' UPDATE and its values, for `fetch_each`."""
    meta = instance._meta
    columns, values = [], []
    for name in dict.fromkeys(names):
        field = meta.fields_map[name]
        columns.append(field.source_field or name)
        values.append(field.to_db_value(getattr(instance, name), instance))
    return _update_sql(meta.db_table, tuple(columns)), [*values, instance.pk]


@functools.lru_cache(maxsize=64)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks}) RETURNING "id"'


async def insert(instance: Model) -> None:
    """`instance.save()` of a new row as one prepared INSERT: every column as tortoise
    would write it (its checks included), the generated id set on the instance."""
    ((row_id,),) = await fetch(*insert_of(instance))
    inserted(instance, row_id)


def insert_of(instance: Model) -> Statement:
    """`insert`'s INSERT … RETURNING "id" and its values, for `fetch_each`."""
    meta = instance._meta
    columns, values = [], []
    for name, column in meta.fields_db_projection.items():
        if name in meta.generated_db_fields:
            continue
        columns.append(column)
        values.append(meta.fields_map[name].to_db_value(getattr(instance, name), instance))
    return _insert_sql(meta.db_table, tuple(columns)), values


def inserted(instance: Model, row_id: int) -> None:
    """The instance as `insert` leaves it, once its INSERT gave `row_id`."""
    instance.id = row_id
    instance._saved_in_db = True


@functools.lru_cache(maxsize=64)
def _select_sql(table: str, columns: tuple[str, ...]) -> str:
    where = " AND ".join(f'"{c}" = ?' for c in columns)
    return f'SELECT * FROM "{table}" WHERE {where}'


async def by_id(model: type[M], row_id: int) -> M | None:
    """`model.get_or_none(id=row_id)` as one prepared SELECT."""
    return await get_by(model, id=row_id)


async def by_ids(*wanted: tuple[type[Model], int | None]) -> list[Any]:
    """`by_id` of several rows (None for an id that is None or not found): on SQLite in
    one hand-off (`fetch_each`), elsewhere one query each."""
    if not isinstance(_client(), SqliteClient):
        return [await by_id(model, row_id) if row_id else None for model, row_id in wanted]
    asked = [(model, row_id) for model, row_id in wanted if row_id]
    sql = [(_select_sql(m._meta.db_table, ("id",)), (row_id,)) for m, row_id in asked]
    rows = iter(await fetch_each(sql) if sql else ())
    found = []
    for model, row_id in wanted:
        row = next(rows) if row_id else None
        found.append(model._init_from_db(**dict(row[0])) if row else None)  # sqlite3.Row
    return found


async def get_by(model: type[M], **columns: Any) -> M | None:
    """`model.get_or_none(**columns)` (plain column values, a unique set) as one prepared
    SELECT: the instance is built from the row as tortoise builds it (its conversions),
    without a queryset."""
    return await first(model, _select_sql(model._meta.db_table, tuple(columns)), columns.values())


async def get_committed(model: type[M], **columns: Any) -> M | None:
    """`get_by` of a row as committed, read like `fetch_committed` (on SQLite by the
    loop-thread reader, no hand-off): for a read outside any transaction."""
    sql = _select_sql(model._meta.db_table, tuple(columns))
    found = _read_now(sql, list(columns.values()))
    if found is None:
        return await get_by(model, **columns)
    rows, names = found
    return model._init_from_db(**dict(zip(names, rows[0], strict=True))) if rows else None


async def first(model: type[M], sql: str, values: Iterable[Any]) -> M | None:
    """The first row of a prepared `SELECT *` of the model's table, as tortoise builds it."""
    client = _client()
    sql, params = _for(client, sql), db_values(list(values))
    if is_postgres(client):
        rows = await client.execute_query_dict(sql, params)
    else:
        _, found = await client.execute_query(sql, params)
        rows = [dict(row) for row in found[:1]]
    return model._init_from_db(**rows[0]) if rows else None
