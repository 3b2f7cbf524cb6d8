"""Anomalies: a funnel stage's conversion or a manager's claims over the last 7 days fall
below their trailing four-week level by more than `reports.anomaly_threshold_pct`.

Both windows are whole local days before today ([today−7, today−1] against
[today−35, today−8]), so every check within a day sees the same numbers; the owner gets
one message per metric per week (dedup key `anomaly:<metric>:<monday>:<owner>`).
Small samples never fire: the stage's entries in both windows, or the manager's usual
claims per week, must reach `reports.anomaly_min_volume`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from bot.config import BusinessConfig
from bot.delivery.outbox import Message, to_staff
from bot.i18n import Texts
from bot.numbers import kpi, sql
from bot.numbers.kpi import Period
from bot.numbers.reports import manager_names
from bot.periods import local_today, week_span

WEEKS = 4


@dataclass(frozen=True)
class Anomaly:
    metric: str  # "stage:confirmed", "claims:7001"
    text: str


def _drop(now: Fraction, usual: Fraction) -> int:
    """How much lower `now` is than `usual`, in whole percent (half up)."""
    return int((1 - now / usual) * 100 + Fraction(1, 2))


def _windows(config: BusinessConfig, today: dt.date) -> tuple[Period, Period]:
    day = dt.timedelta(days=1)
    recent = Period.between(config, today - 7 * day, today - day)
    trailing = Period.between(config, today - (7 * WEEKS + 7) * day, today - 8 * day)
    return recent, trailing


async def stage_anomalies(config: BusinessConfig, t: Texts, recent: Period, trailing: Period):
    rep = config.reports
    now_stages, old_stages = await kpi.funnel(recent), await kpi.funnel(trailing)
    out = []
    for now, old in zip(now_stages[1:], old_stages[1:], strict=True):
        a, b = now.conversion, old.conversion
        assert a is not None and b is not None
        if min(a.denominator, b.denominator // WEEKS) < rep.anomaly_min_volume or not b.numerator:
            continue
        rate, usual = Fraction(a.numerator, a.denominator), Fraction(b.numerator, b.denominator)
        drop = _drop(rate, usual)
        if drop > rep.anomaly_threshold_pct:
            text = t(
                "reports.anomaly.stage",
                stage=t(f"reports.anomaly.stage_{now.name}"),
                now=a.format(),
                now_n=a.numerator,
                now_d=a.denominator,
                usual=b.format(),
                usual_n=b.numerator,
                usual_d=b.denominator,
                drop=drop,
            )
            out.append(Anomaly(f"stage:{now.name}", text))
    return out


async def claim_counts(recent: Period, trailing: Period) -> dict[int, tuple[int, int]]:
    """Per manager: claims in the recent window and in the trailing one."""
    rows = await sql.rows(
        "SELECT actor, SUM(CASE WHEN at >= ? THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN at < ? THEN 1 ELSE 0 END) FROM lead_event "
        "WHERE kind = 'claim' AND at >= ? AND at < ? GROUP BY actor",
        [recent.start, trailing.end, trailing.start, recent.end],
    )
    out = {}
    for actor, now, old in rows:
        head, _, staff_id = str(actor).partition(":")
        if head == "staff" and staff_id.isdigit():
            out[int(staff_id)] = (int(now or 0), int(old or 0))
    return out


async def claim_anomalies(config: BusinessConfig, t: Texts, recent: Period, trailing: Period):
    rep = config.reports
    counts = await claim_counts(recent, trailing)
    names = await manager_names(counts, t)
    out = []
    for staff_id, (now, old) in sorted(counts.items()):
        usual = Fraction(old, WEEKS)
        if usual < rep.anomaly_min_volume:
            continue
        drop = _drop(Fraction(now), usual)
        if drop > rep.anomaly_threshold_pct:
            shown = f"{float(usual):.1f}".replace(".", ",").removesuffix(",0")
            text = t(
                "reports.anomaly.claims",
                name=names[staff_id],
                now=now,
                usual=shown,
                total=old,
                drop=drop,
            )
            out.append(Anomaly(f"claims:{staff_id}", text))
    return out


async def find_anomalies(config: BusinessConfig, t: Texts, today: dt.date) -> list[Anomaly]:
    recent, trailing = _windows(config, today)
    return [
        *await stage_anomalies(config, t, recent, trailing),
        *await claim_anomalies(config, t, recent, trailing),
    ]


async def queue_anomalies(
    config: BusinessConfig, t: Texts, owner_ids: frozenset[int], now: dt.datetime
) -> int:
    """Tell the owners each anomaly once per week; returns how many messages were queued."""
    if not owner_ids:
        return 0  # nobody to tell: don't run the five-week queries
    today = local_today(config, now)
    monday = week_span(today).first
    queued = 0
    for anomaly in await find_anomalies(config, t, today):
        queued += await to_staff(
            sorted(owner_ids),
            kind="anomaly",
            message=Message(anomaly.text),
            key=f"{anomaly.metric}:{monday}",
            now=now,
            lead_id=None,
        )
    return queued
