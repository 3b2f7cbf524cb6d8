"""The few figures the evening summary, the sources report and the chart need beyond
bot/numbers/kpi.py: confirmed bookings made, top sources, the worst SLA breach, day buckets,
and per-source money (CPL, ROI, CAC) once spend is known. SQL aggregates only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.numbers import sql
from bot.numbers.kpi import Average, Period, Ratio, SourceRow, sources

# Worst first: an owner escalation means nobody took the lead for half an hour.
BREACH_ORDER = ("owner", "human_reply", "prebooking", "claim")


@dataclass(frozen=True)
class Breach:
    count: int  # breaches detected in the period
    lead_id: int  # the worst one's lead
    kind: str


async def confirmed_bookings(period: Period) -> int:
    """Appointments made in the period that staff confirmed (confirmed, came or no-show)."""
    (count,) = await sql.one(
        "SELECT COUNT(*) FROM appointment WHERE created_at >= ? AND created_at < ? "
        "AND status IN ('confirmed', 'came', 'no_show')",
        [period.start, period.end],
    )
    return count


async def top_sources(period: Period, limit: int = 3) -> list[tuple[str | None, int]]:
    """The sources with the most leads created in the period (None: no source known)."""
    rows = await sql.rows(
        "SELECT source, COUNT(*) AS n FROM lead WHERE created_at >= ? AND created_at < ? "
        "GROUP BY source ORDER BY n DESC, source LIMIT ?",
        [period.start, period.end, limit],
    )
    return [(source, int(n)) for source, n in rows]


async def worst_breach(period: Period) -> Breach | None:
    """The most serious SLA breach detected in the period (earliest deadline among equals)."""
    rank = " ".join(f"WHEN '{kind}' THEN {i}" for i, kind in enumerate(BREACH_ORDER))
    rows = await sql.rows(
        "SELECT lead_id, kind, COUNT(*) OVER () FROM sla_breach "
        "WHERE detected_at >= ? AND detected_at < ? "
        f"ORDER BY CASE kind {rank} ELSE 9 END, due_at, lead_id LIMIT 1",
        [period.start, period.end],
    )
    if not rows:
        return None
    lead_id, kind, count = rows[0]
    return Breach(int(count), int(lead_id), str(kind))


async def per_day(column: str, table: str, days: list[Period], where: str = "") -> list[int]:
    """Rows of `table` whose `column` falls in each of `days`, in one pass over the range."""
    cases = ", ".join(
        f"SUM(CASE WHEN {column} >= ? AND {column} < ? THEN 1 ELSE 0 END)" for _ in days
    )
    params: list[dt.datetime] = [bound for day in days for bound in (day.start, day.end)]
    return list(
        await sql.one(
            f"SELECT {cases} FROM {table} WHERE {column} >= ? AND {column} < ? {where}",
            [*params, days[0].start, days[-1].end],
        )
    )


async def sources_with_money(period: Period, spend: dict[str, int]) -> list[SourceRow]:
    """Per source (campaigns summed): leads, bookings, revenue, and with known spend the
    CPL (spend / leads), ROI ((revenue − spend) / spend) and CAC (spend / booked leads)."""
    totals: dict[str | None, list[int]] = {}
    for row in await sources(period):
        acc = totals.setdefault(row.source, [0, 0, 0])
        acc[0] += row.leads
        acc[1] += row.bookings
        acc[2] += row.revenue_kop
    out = []
    for source, (leads, booked, revenue) in totals.items():
        cost = spend.get(source) if source is not None else None
        out.append(
            SourceRow(
                source,
                None,
                leads,
                booked,
                revenue,
                spend_kop=cost,
                cpl_kop=None if cost is None else Average(cost, leads).kop,
                roi=None if cost is None else Ratio(revenue - cost, cost),
                cac_kop=None if cost is None else Average(cost, booked).kop,
            )
        )
    return sorted(out, key=lambda r: (-r.leads, -r.revenue_kop, r.source is None, r.source or ""))
