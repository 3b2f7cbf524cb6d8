"""When a booking needs a deposit, how much, and what happens to it on a cancel.

The `[deposits]` table of the business config. Three kinds of rule may ask for a deposit;
when several apply, the largest amount wins and its kind is shown to the client:
- per service: the service's own `deposit` (an amount, editable from the staff bot) or a
  `[[deposits.services]]` entry with an amount or a percentage of the price;
- per client: after `no_shows.after` no-shows, every booking of that client;
- per time: `[[deposits.times]]` windows, e.g. Friday and Saturday evenings.

Pure: pydantic and the standard library only (scenarios read the quote it computes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Rubles = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Percent = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)]


class RuleKind(StrEnum):
    SERVICE = "service"
    CLIENT = "client"
    TIME = "time"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Share(_Strict):
    """An amount in rubles or a percentage of the booking's price: exactly one of them."""

    amount: Rubles | None = None
    percent: Percent | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Share:
        if (self.amount is None) == (self.percent is None):
            raise ValueError("give exactly one of 'amount' (rubles) or 'percent'")
        return self

    def kopecks(self, price_kop: int) -> int:
        if self.amount is not None:
            return int(self.amount * 100)
        share = Decimal(price_kop) * (self.percent or Decimal(0)) / 100
        return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class ServiceRule(Share):
    service: str = Field(pattern=r"^[a-z0-9_]{1,16}$")


class ClientRule(Share):
    after: int = Field(ge=1)  # this many no-shows on record: every booking needs a deposit


class TimeRule(Share):
    days: list[str] = Field(min_length=1)
    start: dt.time  # local time: a visit starting within [start, end) needs a deposit
    end: dt.time

    @model_validator(mode="after")
    def _window(self) -> TimeRule:
        unknown = [d for d in self.days if d not in DAYS]
        if unknown:
            raise ValueError(f"days: unknown day '{unknown[0]}' (use {', '.join(DAYS)})")
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self

    def covers(self, local_start: dt.datetime) -> bool:
        day = DAYS[local_start.weekday()]
        return day in self.days and self.start <= local_start.time() < self.end


class Deposits(_Strict):
    """The `[deposits]` table."""

    hold_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refund_cutoff_hours: int = Field(default=24, ge=0, le=24 * 30)
    vat_code: int = Field(default=1, ge=1, le=12)  # YooKassa's 54-FZ VAT code (1: no VAT)
    services: list[ServiceRule] = []
    no_shows: ClientRule | None = None
    times: list[TimeRule] = []

    def check_services(self, known: list[str]) -> None:
        """A rule naming a service the config lacks is refused with its key."""
        for i, rule in enumerate(self.services):
            if rule.service not in known:
                raise ValueError(
                    f"deposits.services[{i}].service: unknown service '{rule.service}' "
                    f"(known: {', '.join(known)})"
                )


class PricedService(Protocol):
    id: str
    deposit: Decimal


@dataclass(frozen=True)
class Quote:
    """The deposit a booking needs, the rule that asked for it, and the refund policy."""

    amount_kop: int
    rule: RuleKind
    hold_minutes: int
    refund_cutoff_hours: int


def quote(
    rules: Deposits,
    service: PricedService,
    price_kop: int,
    local_start: dt.datetime,
    no_shows: int,
) -> Quote | None:
    """The deposit for one booking, or None when no rule asks for one."""
    found: list[tuple[int, RuleKind]] = []
    if service.deposit > 0:
        found.append((int(service.deposit * 100), RuleKind.SERVICE))
    found += [
        (r.kopecks(price_kop), RuleKind.SERVICE) for r in rules.services if r.service == service.id
    ]
    if rules.no_shows is not None and no_shows >= rules.no_shows.after:
        found.append((rules.no_shows.kopecks(price_kop), RuleKind.CLIENT))
    found += [(r.kopecks(price_kop), RuleKind.TIME) for r in rules.times if r.covers(local_start)]
    found = [(min(amount, price_kop), kind) for amount, kind in found if amount > 0]
    if not found:
        return None
    amount, kind = max(found, key=lambda f: f[0])
    return Quote(amount, kind, rules.hold_minutes, rules.refund_cutoff_hours)


def refundable(start: dt.datetime, cancelled_at: dt.datetime, cutoff_hours: int) -> bool:
    """A client's cancel this long before the visit gets the deposit back in full."""
    return start - cancelled_at >= dt.timedelta(hours=cutoff_hours)
