"""The owner's numbers: KPIs as SQL aggregates over leads, lead events and appointments.

Every function takes a `Period` — a half-open UTC interval [start, end) whose boundaries are
LOCAL midnights in the business timezone — and runs one or a few aggregate queries; only the
small aggregated result reaches Python (the first-response medians read one pair of times per
lead, the only per-lead figure, because working minutes are computed on the business clock).

Every ratio is a `Ratio(numerator, denominator)`: its value is None and it shows «—» when the
denominator is 0, so an empty period never divides by zero. Money is integer kopecks.
The exact definitions are in docs/kpi.md.

The SQL is plain, parameterised and portable between SQLite and PostgreSQL; the one
dialect-specific piece (a 90-day window) is chosen by `sql.within_days` (bot/numbers/sql.py).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.config import BusinessConfig
from bot.numbers import sql
from bot.staffwork.worktime import working_minutes_between

EMPTY = "—"
REPEAT_WINDOW_DAYS = 90

# Funnel stages in order, each with the lead statuses that mean "reached this stage or a
# later one" (a lead booked instantly goes new → confirmed and still passed «qualified»).
FUNNEL_STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("new", ("new", "qualified", "confirmed", "came", "no_show")),
    ("qualified", ("qualified", "confirmed", "came", "no_show")),
    ("confirmed", ("confirmed", "came", "no_show")),
    ("came", ("came",)),
)


# ---------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; build it from local dates with the constructors below."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period needs timezone-aware datetimes")
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")

    @staticmethod
    def _midnight(config: BusinessConfig, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), tzinfo=config.tz).astimezone(dt.UTC)

    @classmethod
    def between(cls, config: BusinessConfig, first: dt.date, last: dt.date) -> Period:
        """From local midnight of `first` to local midnight after `last` (both included)."""
        if last < first:
            raise ValueError(f"{last} is before {first}")
        return cls(cls._midnight(config, first), cls._midnight(config, last + dt.timedelta(days=1)))

    @classmethod
    def day(cls, config: BusinessConfig, day: dt.date) -> Period:
        return cls.between(config, day, day)

    @classmethod
    def week(cls, config: BusinessConfig, monday: dt.date) -> Period:
        if monday.weekday() != 0:
            raise ValueError(f"{monday} is not a Monday")
        return cls.between(config, monday, monday + dt.timedelta(days=6))

    @classmethod
    def month(cls, config: BusinessConfig, year: int, month: int) -> Period:
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls.between(config, first, following - dt.timedelta(days=1))


def _percent(numerator: int, denominator: int) -> str:
    value = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
    return f"{value} %".replace(".", ",")


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def format(self) -> str:
        """«23,5 %», or «—» when there is nothing to divide by."""
        return _percent(self.numerator, self.denominator) if self.denominator else EMPTY


def format_kop(kop: int) -> str:
    """«1 900 ₽», «1 900,01 ₽» (kopecks shown only when there are some)."""
    sign = "-" if kop < 0 else ""
    rubles, rest = divmod(abs(kop), 100)
    whole = f"{rubles:,}".replace(",", " ")
    return f"{sign}{whole},{rest:02d} ₽" if rest else f"{sign}{whole} ₽"


@dataclass(frozen=True)
class Average:
    """An average amount of money: total kopecks over a count."""

    total_kop: int
    count: int

    @property
    def kop(self) -> int | None:
        """Rounded half up to whole kopecks; None when there is nothing to average."""
        if not self.count:
            return None
        return int((Decimal(self.total_kop) / self.count).quantize(0, rounding=ROUND_HALF_UP))

    def format(self) -> str:
        return EMPTY if self.kop is None else format_kop(self.kop)


@dataclass(frozen=True)
class Revenue:
    key: str | int | None  # a master id, a manager's Telegram id; None: nobody
    visits: int
    revenue_kop: int


@dataclass(frozen=True)
class LostReason:
    reason: str | None
    count: int


@dataclass(frozen=True)
class FunnelStage:
    name: str  # new | qualified | confirmed | "came"
    count: int
    conversion: Ratio | None  # from the previous stage; None for the first stage


@dataclass(frozen=True)
class SourceRow:
    source: str | None
    campaign: str | None
    leads: int
    bookings: int
    revenue_kop: int
    spend_kop: int | None = None  # spend, CPL, ROI and CAC come with the /spend command
    cpl_kop: int | None = None
    roi: Ratio | None = None
    cac_kop: int | None = None

    @property
    def conversion(self) -> Ratio:
        return Ratio(self.bookings, self.leads)


@dataclass(frozen=True)
class Median:
    value: float | None  # None when nothing was measured
    count: int  # how many leads the median is over

    def format(self, unit: str) -> str:
        if self.value is None:
            return EMPTY
        return f"{self.value:.1f}".replace(".", ",").removesuffix(",0") + f" {unit}"


@dataclass(frozen=True)
class FirstResponse:
    bot_seconds: Median  # wall-clock seconds from a lead's first inbound message
    human_minutes: Median  # working minutes from attention_at to the first staff message
    human_unanswered: int  # leads that waited for a human in the period and got no reply yet


# ---------------------------------------------------------------------------- SQL


# One row per lead that has an appointment: when it was first booked (no_human_share).
_BOOKED = (
    "SELECT lead_id, MIN(created_at) AS booked_at "
    "FROM appointment WHERE lead_id IS NOT NULL GROUP BY lead_id"
)


_PAID = (
    "(SELECT COALESCE(SUM(a.paid_kop), 0) FROM appointment a "
    "WHERE a.lead_id = l.id AND a.status = 'came')"
)


def _in(period: Period) -> list[Any]:
    return [period.start, period.end]


# ---------------------------------------------------------------------------- leads


async def leads_in(period: Period) -> int:
    """Leads created in the period."""
    (count,) = await sql.one(
        "SELECT COUNT(*) FROM lead WHERE created_at >= ? AND created_at < ?", _in(period)
    )
    return count


async def conversion(period: Period) -> Ratio:
    """Leads created in the period that got an appointment (in any status) / leads in."""
    total, booked = await sql.one(
        f"SELECT COUNT(*), SUM({sql.HAS_VISIT}) FROM lead l "
        "WHERE l.created_at >= ? AND l.created_at < ?",
        _in(period),
    )
    return Ratio(booked, total)


async def no_human_share(period: Period) -> Ratio:
    """Of the leads created in the period that got an appointment: those with no staff
    event and no staff message before their first appointment was made."""
    booked, alone = await sql.one(
        "SELECT COUNT(b.lead_id), SUM(CASE WHEN b.lead_id IS NOT NULL AND "
        "(s.first_at IS NULL OR s.first_at >= b.booked_at) THEN 1 ELSE 0 END) FROM lead l "
        f"LEFT JOIN ({_BOOKED}) b ON b.lead_id = l.id "
        "LEFT JOIN (SELECT lead_id, MIN(at) AS first_at FROM ("
        "SELECT lead_id, at FROM lead_event WHERE actor LIKE 'staff:%' AND at >= ? UNION ALL "
        "SELECT lead_id, at FROM message_log WHERE author LIKE 'staff:%' AND at >= ? "
        "AND lead_id IS NOT NULL) x GROUP BY lead_id) s ON s.lead_id = l.id "
        "WHERE l.created_at >= ? AND l.created_at < ?",
        [period.start, period.start, *_in(period)],
    )
    return Ratio(alone, booked)


async def sla_compliance(period: Period) -> Ratio:
    """Leads that started waiting for a human in the period (attention_at) with no SLA
    breach of any kind / all of those leads."""
    waited, breached = await sql.one(
        "SELECT COUNT(*), COUNT(s.lead_id) FROM lead l "
        "LEFT JOIN (SELECT DISTINCT lead_id FROM sla_breach) s ON s.lead_id = l.id "
        "WHERE l.attention_at >= ? AND l.attention_at < ?",
        _in(period),
    )
    return Ratio(waited - breached, waited)


async def lost_reasons(period: Period) -> list[LostReason]:
    """Leads lost in the period (by the time of the «lost» event), counted per reason."""
    rows = await sql.rows(
        "SELECT note, COUNT(*) FROM lead_event WHERE kind = 'status' "
        "AND to_status = 'lost' AND at >= ? AND at < ? GROUP BY note",
        _in(period),
    )
    reasons = [LostReason(note, int(n)) for note, n in rows]
    return sorted(reasons, key=lambda r: (-r.count, r.reason or ""))


async def funnel(period: Period) -> list[FunnelStage]:
    """Per stage: distinct leads whose status events in the period reached it or a later
    stage (by event time, so a lead counts in each period where it moved)."""
    columns = ", ".join(
        "COUNT(DISTINCT CASE WHEN to_status IN ({}) THEN lead_id END)".format(
            ", ".join(f"'{s}'" for s in statuses)
        )
        for _, statuses in FUNNEL_STAGES
    )
    counts = await sql.one(
        f"SELECT {columns} FROM lead_event WHERE kind = 'status' AND at >= ? AND at < ?",
        _in(period),
    )
    stages = []
    for i, ((name, _), count) in enumerate(zip(FUNNEL_STAGES, counts, strict=True)):
        stages.append(FunnelStage(name, count, Ratio(count, counts[i - 1]) if i else None))
    return stages


async def sources(period: Period) -> list[SourceRow]:
    """Per source and campaign of the leads created in the period: leads, leads that got an
    appointment, and the amount paid at the «came» visits of those leads (whenever held)."""
    rows = await sql.rows(
        f"SELECT l.source, l.campaign, COUNT(*), SUM({sql.HAS_VISIT}), SUM({_PAID}) "
        "FROM lead l WHERE l.created_at >= ? AND l.created_at < ? GROUP BY l.source, l.campaign",
        _in(period),
    )
    out = [SourceRow(s, c, int(n), int(b or 0), int(r or 0)) for s, c, n, b, r in rows]
    return sorted(out, key=lambda r: (-r.leads, -r.revenue_kop, r.source or "", r.campaign or ""))


# ---------------------------------------------------------------------------- visits


async def confirmed_rate(period: Period) -> Ratio:
    """Appointments starting in the period, not cancelled: those the client confirmed
    (client_confirmed_at) or came to / all of them (pending, confirmed, came, no-show)."""
    scheduled, confirmed = await sql.one(
        "SELECT COUNT(*), SUM(CASE WHEN client_confirmed_at IS NOT NULL "
        "OR status = 'came' THEN 1 ELSE 0 END) FROM appointment "
        "WHERE start >= ? AND start < ? AND status <> 'cancelled'",
        _in(period),
    )
    return Ratio(confirmed, scheduled)


async def no_show_rate(period: Period) -> Ratio:
    """No-shows / (came + no-shows) of the appointments starting in the period."""
    held, missed = await sql.one(
        "SELECT COUNT(*), SUM(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END) "
        "FROM appointment WHERE start >= ? AND start < ? "
        "AND status IN ('came', 'no_show')",
        _in(period),
    )
    return Ratio(missed, held)


async def average_check(period: Period) -> Average:
    """The average amount paid at the «came» visits starting in the period."""
    count, total = await sql.one(
        "SELECT COUNT(paid_kop), SUM(paid_kop) FROM appointment "
        "WHERE status = 'came' AND start >= ? AND start < ?",
        _in(period),
    )
    return Average(total, count)


async def _revenue(key: str, joins: str, period: Period) -> list[Revenue]:
    rows = await sql.rows(
        f"SELECT {key}, COUNT(*), SUM(COALESCE(a.paid_kop, 0)) FROM appointment a {joins} "
        "WHERE a.status = 'came' AND a.start >= ? AND a.start < ? GROUP BY " + key,
        _in(period),
    )
    out = [Revenue(k, int(n), int(r or 0)) for k, n, r in rows]
    return sorted(out, key=lambda r: (-r.revenue_kop, str(r.key)))


async def revenue_by_master(period: Period) -> list[Revenue]:
    """Visits and money of the «came» visits starting in the period, per master."""
    return await _revenue("a.master_id", "", period)


async def revenue_by_manager(period: Period) -> list[Revenue]:
    """The same per manager of the visit's lead (key None: no lead or no manager)."""
    return await _revenue("l.manager_id", "LEFT JOIN lead l ON l.id = a.lead_id", period)


async def repeat_clients(period: Period) -> Ratio:
    """Clients with a «came» visit starting in the period: those who came again (another
    «came» visit) within 90 days after one of those visits / all of them."""
    window = sql.within_days("a.start", "b.start", REPEAT_WINDOW_DAYS)
    clients, repeat = await sql.one(
        "SELECT COUNT(DISTINCT a.client_id), COUNT(DISTINCT CASE WHEN EXISTS ("
        "SELECT 1 FROM appointment b WHERE b.client_id = a.client_id "
        f"AND b.status = 'came' AND b.start > a.start AND {window}) "
        "THEN a.client_id END) FROM appointment a "
        "WHERE a.status = 'came' AND a.client_id IS NOT NULL "
        "AND a.start >= ? AND a.start < ?",
        _in(period),
    )
    return Ratio(repeat, clients)


# ---------------------------------------------------------------------------- response times


async def first_response_median(config: BusinessConfig, period: Period) -> FirstResponse:
    """Medians of the first response, the bot's and the humans' separately.

    Bot: per lead created in the period, seconds from its first inbound message to the
    first outbound message by "bot" at or after it (leads the bot never answered are left
    out). Humans: per lead whose attention_at falls in
    the period, working minutes to the first outbound "staff:*" message at or after it.
    """
    # Each query materialises the period's few leads, then probes each lead's messages
    # through the message_log(lead_id, at) index (CROSS JOIN keeps that order on SQLite), so
    # the cost follows the period's leads wherever the period lies; a lead's messages are
    # never older than the lead, so nothing before the start is needed.
    start = [period.start]
    bot_rows = await sql.rows(
        "WITH f AS MATERIALIZED (SELECT m.lead_id, MIN(m.at) AS first_in "
        "FROM lead l CROSS JOIN message_log m WHERE l.id = m.lead_id AND m.direction = 'in' "
        "AND m.at >= ? AND l.created_at >= ? AND l.created_at < ? GROUP BY m.lead_id) "
        "SELECT f.first_in, MIN(m.at) FROM f CROSS JOIN message_log m "
        "WHERE m.lead_id = f.lead_id AND m.direction = 'out' AND m.author = 'bot' "
        "AND m.at >= f.first_in AND m.at >= ? GROUP BY f.lead_id, f.first_in",
        start + _in(period) + start,
    )
    bot = [(sql.timestamp(out) - sql.timestamp(inb)).total_seconds() for inb, out in bot_rows]
    (waited,) = await sql.one(
        "SELECT COUNT(*) FROM lead WHERE attention_at >= ? AND attention_at < ?", _in(period)
    )
    human_rows = await sql.rows(
        "WITH w AS MATERIALIZED (SELECT id, attention_at FROM lead "
        "WHERE attention_at >= ? AND attention_at < ?) "
        "SELECT w.attention_at, MIN(m.at) FROM w CROSS JOIN message_log m "
        "WHERE m.lead_id = w.id AND m.direction = 'out' AND m.author LIKE 'staff:%' "
        "AND m.at >= w.attention_at AND m.at >= ? GROUP BY w.id, w.attention_at",
        _in(period) + start,
    )
    human = [
        working_minutes_between(config, sql.timestamp(since), sql.timestamp(reply))
        for since, reply in human_rows
    ]
    return FirstResponse(
        bot_seconds=Median(statistics.median(bot) if bot else None, len(bot)),
        human_minutes=Median(statistics.median(human) if human else None, len(human)),
        human_unanswered=waited - len(human),
    )


async def confirmed_by_manager(period: Period) -> dict[int | None, int]:
    """Confirmed bookings (as in `confirmed_rate`: not cancelled, the client confirmed or
    came) starting in the period, per manager of the booking's lead (payroll)."""
    rows = await sql.rows(
        "SELECT l.manager_id, COUNT(*) FROM appointment a LEFT JOIN lead l ON l.id = a.lead_id "
        "WHERE a.start >= ? AND a.start < ? AND a.status <> 'cancelled' "
        "AND (a.client_confirmed_at IS NOT NULL OR a.status = 'came') GROUP BY l.manager_id",
        _in(period),
    )
    return {None if k is None else int(k): int(n) for k, n in rows}
