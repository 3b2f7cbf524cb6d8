"""The waitlist's worth to the owner: freed slots it refilled and the revenue it recovered
(SQL aggregates over bot/waitlist_models.py, as the other KPI modules)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.numbers import sql
from bot.numbers.kpi import Period


@dataclass(frozen=True)
class Refilled:
    offered: int  # offers made in the period (0: the waitlist was idle)
    slots: int
    revenue_kop: int


async def refilled(period: Period) -> Refilled:
    """Offers taken in the period whose visit still stands (or took place): how many, and
    their worth — the amount paid at a «came» visit, the price of one still ahead."""
    count, kop = await sql.one(
        "SELECT COUNT(*), SUM(CASE WHEN a.status = 'came' THEN COALESCE(a.paid_kop, a.price_kop) "
        "WHEN a.status IN ('pending', 'confirmed') THEN a.price_kop ELSE 0 END) "
        "FROM waitlist_offer o JOIN appointment a ON a.id = o.appointment_id "
        "WHERE o.status = 'taken' AND o.taken_at >= ? AND o.taken_at < ? "
        "AND a.status NOT IN ('cancelled', 'no_show')",
        [period.start, period.end],
    )
    (offered,) = await sql.one(
        "SELECT COUNT(*) FROM waitlist_offer WHERE offered_at >= ? AND offered_at < ?",
        [period.start, period.end],
    )
    return Refilled(offered, count, kop)
