"""ROI of the automation: the owner's baseline before Priyom vs the measured month.

baseline revenue/month = leads × conversion × (1 − no-show) × average check
extra revenue          = measured revenue (paid at «came» visits starting in the month) − baseline
extra profit           = extra revenue × margin (100 % unless entered: revenue counted as profit)
ROI %                  = (12 × extra profit − (one-off + 12 × monthly)) / (one-off + 12 × monthly)
                         × 100 — the first year, if every month were like this one
payback, months        = one-off / (extra profit − monthly cost)
Money is rounded half up to kopecks; ROI % and payback half up to one decimal. A zero or
negative denominator gives None («—» with the reason), never a division error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.models import RoiBaseline
from bot.numbers import kpi
from bot.numbers.amounts import kop_half_up, parse_percent, parse_rubles
from bot.numbers.kpi import Period

HORIZON_MONTHS = 12
BP = Decimal(10000)  # basis points in one
# key → (field, parser); margin is optional (100 %: revenue counted as profit)
FIELDS = {
    "leads": "leads_per_month",
    "conversion": "conversion_bp",
    "check": "check_kop",
    "noshow": "no_show_bp",
    "oneoff": "oneoff_kop",
    "monthly": "monthly_kop",
    "margin": "margin_bp",
}
OPTIONAL = {"margin"}


class RoiInputError(ValueError):
    """A /roi_setup text that can't be used; `key` is the catalog message, `values` fill it."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(key)
        self.key, self.values = key, values


def _leads(text: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) <= 1_000_000:
        raise ValueError(text)
    return int(text)


_PARSERS = {
    "leads": _leads,
    "conversion": parse_percent,
    "check": parse_rubles,
    "noshow": lambda t: parse_percent(t, below_100=True),
    "oneoff": parse_rubles,
    "monthly": parse_rubles,
    "margin": parse_percent,
}


def parse_setup(text: str) -> dict[str, int]:
    """`leads=120 conversion=18 check=2500 noshow=20 oneoff=50000 monthly=5000 [margin=40]`
    → RoiBaseline fields; the first problem found raises RoiInputError naming the key."""
    given: dict[str, str] = {}
    for part in text.replace(";", " ").split():
        key, sep, value = part.partition("=")
        key = key.strip().casefold().replace("_", "").replace("-", "")
        if not sep or key not in FIELDS:
            raise RoiInputError("money.roi_unknown_key", part=part)
        given[key] = value
    missing = [k for k in FIELDS if k not in given and k not in OPTIONAL]
    if missing:
        raise RoiInputError("money.roi_missing", keys=", ".join(missing))
    out = {}
    for key, value in given.items():
        try:
            out[FIELDS[key]] = _PARSERS[key](value)
        except ValueError:
            raise RoiInputError(f"money.roi_bad.{key}", value=value) from None
    if out.get("margin_bp") == 0:
        raise RoiInputError("money.roi_bad.margin", value=given["margin"])
    return out


async def save_baseline(values: dict[str, int], by: int, now: dt.datetime) -> RoiBaseline:
    """A new row each time (the history stays); the newest one counts."""
    return await RoiBaseline.create(**values, entered_by=by, entered_at=now)


async def current_baseline() -> RoiBaseline | None:
    return await RoiBaseline.all().order_by("-id").first()


def _one_decimal(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class RoiReport:
    base: RoiBaseline
    baseline_kop: int  # the revenue a month brought before Priyom
    measured_kop: int  # paid at «came» visits starting in the month
    visits: int  # those visits

    @property
    def extra_revenue_kop(self) -> int:
        return self.measured_kop - self.baseline_kop

    @property
    def extra_profit_kop(self) -> int:
        return kop_half_up(self.extra_revenue_kop * self.base.margin_bp / BP)

    @property
    def year_gain_kop(self) -> int:
        return HORIZON_MONTHS * self.extra_profit_kop

    @property
    def year_cost_kop(self) -> int:
        return self.base.oneoff_kop + HORIZON_MONTHS * self.base.monthly_kop

    @property
    def roi_percent(self) -> Decimal | None:
        """None when the automation cost nothing (nothing to divide by)."""
        if self.year_cost_kop <= 0:
            return None
        return _one_decimal(
            Decimal(self.year_gain_kop - self.year_cost_kop) * 100 / self.year_cost_kop
        )

    @property
    def monthly_net_kop(self) -> int:
        return self.extra_profit_kop - self.base.monthly_kop

    @property
    def payback_months(self) -> Decimal | None:
        """None when a month earns no more than it costs: it never pays back."""
        if self.monthly_net_kop <= 0:
            return None
        return _one_decimal(Decimal(self.base.oneoff_kop) / self.monthly_net_kop)


def baseline_revenue_kop(base: RoiBaseline) -> int:
    """leads × conversion × (1 − no-show) × check, half up to kopecks."""
    share = Decimal(base.conversion_bp) / BP * (BP - base.no_show_bp) / BP
    return kop_half_up(base.leads_per_month * share * base.check_kop)


async def roi_report(base: RoiBaseline, month: Period) -> RoiReport:
    measured = await kpi.average_check(month)  # one aggregate: count and sum of «came» visits
    return RoiReport(base, baseline_revenue_kop(base), measured.total_kop, measured.count)
