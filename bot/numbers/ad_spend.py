"""Ad spend per source and local month: the owner's /spend entries and the reader for CPL/ROI.

A month's spend is one row per (source, month); entering it again corrects it. The reader
`spend_by_source(period)` PRORATES: a period covering part of a month gets that month's spend
× the share of the month's time it covers (by the month's local midnights stored with the
row), rounded half up to kopecks per source and month. A whole month gets exactly its spend.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from bot.config import BusinessConfig
from bot.models import AdSpend
from bot.numbers import sql
from bot.numbers.amounts import kop_half_up
from bot.numbers.kpi import Period
from bot.periods import month_label

log = logging.getLogger("priyom.spend")


@dataclass(frozen=True)
class SpendChange:
    source: str
    month: str
    amount_kop: int
    previous_kop: int | None  # None: a new entry, else the amount it corrected


async def set_spend(
    config: BusinessConfig,
    source: str,
    year: int,
    month: int,
    amount_kop: int,
    by: int,
    now: dt.datetime,
) -> SpendChange:
    """Enter or correct one source's spend for one month (unique source+month)."""
    label = month_label(year, month)
    span = Period.month(config, year, month)
    values = {
        "amount_kop": amount_kop,
        "starts_at": span.start,
        "ends_at": span.end,
        "entered_by": by,
        "entered_at": now,
    }
    row = await AdSpend.get_or_none(source=source, month=label)
    if row is None:
        try:
            await AdSpend.create(source=source, month=label, **values)
            previous = None
        except IntegrityError:  # someone entered it at the same moment: correct theirs
            row = await AdSpend.get(source=source, month=label)
    if row is not None:
        previous = row.amount_kop
        await row.update_from_dict(values).save()
    change = SpendChange(source, label, amount_kop, previous)
    log.info("spend_set", extra={"by": by, **change.__dict__})
    return change


async def month_spend(year: int, month: int) -> dict[str, int]:
    """The entered spend of one month per source, in kopecks."""
    rows = await AdSpend.filter(month=month_label(year, month)).values_list("source", "amount_kop")
    return {source: int(kop) for source, kop in rows}


async def spend_by_source(period: Period) -> dict[str, int]:
    """Spend per source over the period in kopecks, months prorated by the time covered.

    The rows read are the monthly entries themselves (one per source and month), already the
    aggregate; nothing is counted in Python.
    """
    rows = await sql.rows(
        "SELECT source, amount_kop, starts_at, ends_at FROM ad_spend "
        "WHERE starts_at < ? AND ends_at > ?",
        [period.end, period.start],
    )
    out: dict[str, int] = {}
    for source, amount, starts, ends in rows:
        starts, ends = sql.timestamp(starts), sql.timestamp(ends)
        covered = min(ends, period.end) - max(starts, period.start)
        share = Decimal(covered.total_seconds()) / Decimal((ends - starts).total_seconds())
        out[source] = out.get(source, 0) + kop_half_up(int(amount) * share)
    return out
