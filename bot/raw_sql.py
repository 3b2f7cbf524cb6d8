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
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.data import JSON_DUMPS
from tortoise.models import Model

from bot.db_sqlite import ImmediateClient

M = TypeVar("M", bound=Model)


def _client() -> Any:
    return connections.get("default")


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
    reader = _reader()
    if reader is not None:
        try:
            return reader.execute(sql, db_values(values)).fetchall()
        except sqlite3.OperationalError:  # busy past its short timeout: the usual way
            pass
    return await fetch(sql, values)


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


def as_json(value: Any) -> str:
    """A JSON column's value as tortoise writes it."""
    return JSON_DUMPS(value)


@functools.lru_cache(maxsize=64)
def _update_sql(table: str, columns: tuple[str, ...]) -> str:
    assignments = ", ".join(f'"{c}" = ?' for c in columns)
    return f'UPDATE "{table}" SET {assignments} WHERE "id" = ?'


async def save_fields(instance: Model, names: Sequence[str]) -> int:
    """`instance.save(update_fields=names)` as one prepared UPDATE (no queryset)."""
    meta = instance._meta
    columns, values = [], []
    for name in dict.fromkeys(names):
        field = meta.fields_map[name]
        columns.append(field.source_field or name)
        values.append(field.to_db_value(getattr(instance, name), instance))
    return await execute(_update_sql(meta.db_table, tuple(columns)), [*values, instance.pk])


@functools.lru_cache(maxsize=64)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks}) RETURNING "id"'


async def insert(instance: Model) -> None:
    """`instance.save()` of a new row as one prepared INSERT: every column as tortoise
    would write it (its checks included), the generated id set on the instance."""
    meta = instance._meta
    columns, values = [], []
    for name, column in meta.fields_db_projection.items():
        if name in meta.generated_db_fields:
            continue
        columns.append(column)
        values.append(meta.fields_map[name].to_db_value(getattr(instance, name), instance))
    ((instance.id,),) = await fetch(_insert_sql(meta.db_table, tuple(columns)), values)
    instance._saved_in_db = True


@functools.lru_cache(maxsize=64)
def _select_sql(table: str, columns: tuple[str, ...]) -> str:
    where = " AND ".join(f'"{c}" = ?' for c in columns)
    return f'SELECT * FROM "{table}" WHERE {where}'


async def by_id(model: type[M], row_id: int) -> M | None:
    """`model.get_or_none(id=row_id)` as one prepared SELECT."""
    return await get_by(model, id=row_id)


async def get_by(model: type[M], **columns: Any) -> M | None:
    """`model.get_or_none(**columns)` (plain column values, a unique set) as one prepared
    SELECT: the instance is built from the row as tortoise builds it (its conversions),
    without a queryset."""
    return await first(model, _select_sql(model._meta.db_table, tuple(columns)), columns.values())


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
