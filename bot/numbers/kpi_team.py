"""Per-person KPIs for the weekly report and /staff: managers by `lead.manager_id`, masters
by `appointment.master_id`. SQL aggregates like bot/numbers/kpi.py (one grouped query per role; the
response medians read one pair of times per waiting lead, as kpi.first_response_median).

Manager (key: Telegram id; None = leads nobody claimed):
  leads — leads created in the period now held by the manager; booked — of those, leads with
  an appointment; bookings — appointments made in the period for the manager's leads;
  average check — «came» visits starting in the period; breaches — SLA breaches detected in
  the period on the manager's leads; first response — working minutes from attention_at to
  the first staff message, for leads that started waiting in the period.
Master (key: master id): bookings made in the period; visit rate — came / (came + no-show)
  of the visits starting in the period; average check of those «came» visits. First
  response and SLA do not apply to masters (they do not answer leads).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from bot.config import BusinessConfig
from bot.numbers import sql
from bot.numbers.kpi import Average, Median, Period, Ratio
from bot.staffwork.worktime import working_minutes_between


@dataclass(frozen=True)
class ManagerRow:
    manager_id: int | None
    leads: int
    booked: int
    bookings: int
    check: Average
    breaches: int
    first_response: Median

    @property
    def conversion(self) -> Ratio:
        return Ratio(self.booked, self.leads)


@dataclass(frozen=True)
class MasterRow:
    master_id: str
    bookings: int
    held: int
    came: int
    check: Average

    @property
    def visit_rate(self) -> Ratio:
        return Ratio(self.came, self.held)


_MANAGER_SQL = (
    "SELECT k, SUM(n_leads), SUM(n_booked), SUM(n_bookings), SUM(n_visits), SUM(n_paid), "
    "SUM(n_breaches) FROM ("
    f"SELECT l.manager_id AS k, COUNT(*) AS n_leads, SUM({sql.HAS_VISIT}) AS n_booked, "
    "0 AS n_bookings, 0 AS n_visits, 0 AS n_paid, 0 AS n_breaches FROM lead l "
    "WHERE l.created_at >= ? AND l.created_at < ? GROUP BY l.manager_id "
    "UNION ALL SELECT l.manager_id, 0, 0, COUNT(*), 0, 0, 0 FROM appointment a "
    "JOIN lead l ON l.id = a.lead_id WHERE a.created_at >= ? AND a.created_at < ? "
    "GROUP BY l.manager_id "
    "UNION ALL SELECT l.manager_id, 0, 0, 0, COUNT(a.paid_kop), SUM(a.paid_kop), 0 "
    "FROM appointment a JOIN lead l ON l.id = a.lead_id WHERE a.status = 'came' "
    "AND a.start >= ? AND a.start < ? GROUP BY l.manager_id "
    "UNION ALL SELECT l.manager_id, 0, 0, 0, 0, 0, COUNT(*) FROM sla_breach s "
    "JOIN lead l ON l.id = s.lead_id WHERE s.detected_at >= ? AND s.detected_at < ? "
    "GROUP BY l.manager_id) x GROUP BY k"
)

_RESPONSE_SQL = (
    "WITH w AS MATERIALIZED (SELECT id, manager_id, attention_at FROM lead "
    "WHERE attention_at >= ? AND attention_at < ?) "
    "SELECT w.manager_id, w.attention_at, MIN(m.at) FROM w CROSS JOIN message_log m "
    "WHERE m.lead_id = w.id AND m.direction = 'out' AND m.author LIKE 'staff:%' "
    "AND m.at >= w.attention_at AND m.at >= ? GROUP BY w.id, w.manager_id, w.attention_at"
)

_MASTER_SQL = (
    "SELECT master_id, SUM(CASE WHEN created_at >= ? AND created_at < ? THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN start >= ? AND start < ? AND status IN ('came', 'no_show') THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN start >= ? AND start < ? AND status = 'came' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN start >= ? AND start < ? AND status = 'came' THEN paid_kop END), "
    "COUNT(CASE WHEN start >= ? AND start < ? AND status = 'came' THEN paid_kop END) "
    "FROM appointment WHERE (created_at >= ? AND created_at < ?) OR (start >= ? AND start < ?) "
    "GROUP BY master_id"
)


def _median(values: list[float]) -> Median:
    return Median(statistics.median(values) if values else None, len(values))


async def _response_minutes(config: BusinessConfig, period: Period) -> dict[int | None, Median]:
    rows = await sql.rows(_RESPONSE_SQL, [period.start, period.end, period.start])
    minutes: dict[int | None, list[float]] = defaultdict(list)
    for manager_id, since, reply in rows:
        minutes[manager_id].append(
            working_minutes_between(config, sql.timestamp(since), sql.timestamp(reply))
        )
    return {key: _median(values) for key, values in minutes.items()}


async def by_manager(config: BusinessConfig, period: Period) -> list[ManagerRow]:
    """One row per manager with any activity in the period; most leads first."""
    bounds = [period.start, period.end]
    rows = await sql.rows(_MANAGER_SQL, bounds * 4)
    medians = await _response_minutes(config, period)
    out = [
        ManagerRow(
            manager_id=None if key is None else int(key),
            leads=int(leads or 0),
            booked=int(booked or 0),
            bookings=int(bookings or 0),
            check=Average(int(paid or 0), int(visits or 0)),
            breaches=int(breaches or 0),
            first_response=medians.get(key, Median(None, 0)),
        )
        for key, leads, booked, bookings, visits, paid, breaches in rows
    ]
    return sorted(out, key=lambda r: (r.manager_id is None, -r.leads, -r.bookings, r.manager_id))


async def by_master(period: Period) -> list[MasterRow]:
    """One row per master with a booking made or a visit held in the period."""
    bounds = [period.start, period.end]
    rows = await sql.rows(_MASTER_SQL, bounds * 7)
    out = [
        MasterRow(str(key), int(b or 0), int(h or 0), int(c or 0), Average(int(p or 0), int(n)))
        for key, b, h, c, p, n in rows
    ]
    return sorted(out, key=lambda r: (-r.bookings, -r.came, r.master_id))
