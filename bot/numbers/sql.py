"""Raw SQL for the owner's numbers, portable between SQLite and PostgreSQL.

The KPI, report, export and spend modules aggregate in the database (never by loading rows
into Python), so they share these few helpers: a `?`-placeholder query runner, the
dialect-specific pieces and the SQL fragments several modules reuse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise import Tortoise

# Per lead `l` of a period, through the appointment(lead_id) index: probing each of the
# period's leads beats grouping every appointment ever made at scale.
HAS_VISIT = (
    "CASE WHEN EXISTS (SELECT 1 FROM appointment a WHERE a.lead_id = l.id) THEN 1 ELSE 0 END"
)


def _is_postgres() -> bool:
    return Tortoise.get_connection("default").capabilities.dialect == "postgres"


async def rows(sql: str, params: list[Any]) -> list[tuple]:
    """Run parameterised SQL written with `?` placeholders on SQLite or PostgreSQL."""
    connection = Tortoise.get_connection("default")
    if connection.capabilities.dialect == "postgres":
        parts = sql.split("?")
        sql = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))
    _, result = await connection.execute_query(sql, params)
    return [tuple(row) for row in result]


async def one(sql: str, params: list[Any]) -> tuple[int, ...]:
    """A single row of counts and sums; NULL (a SUM over no rows) is 0."""
    (row,) = await rows(sql, params)
    return tuple(int(v or 0) for v in row)


def within_days(earlier: str, later: str, days: int) -> str:
    """SQL: `later` is at most `days` days after `earlier` (both timestamp columns)."""
    if _is_postgres():
        return f"{later} <= {earlier} + interval '{int(days)} days'"
    return f"julianday({later}) - julianday({earlier}) <= {int(days)}"


def timestamp(value: dt.datetime | str) -> dt.datetime:
    """A timestamp read by raw SQL (a datetime on PostgreSQL, ISO text on SQLite) in UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
