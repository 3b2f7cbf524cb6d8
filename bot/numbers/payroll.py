"""Manager pay for a month: fixed + bonus per confirmed booking above plan + % of sales above
target. Figures come from SQL aggregates (`kpi.confirmed_by_manager`, `kpi.revenue_by_manager`);
the arithmetic is exact (kopecks, Decimal) and rounded half up to kopecks once, at the percent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.config import PayPlan
from bot.numbers import kpi
from bot.numbers.amounts import kop_half_up
from bot.numbers.kpi import Period


def _kop(rubles: Decimal) -> int:
    return int(rubles * 100)


@dataclass(frozen=True)
class Payslip:
    plan: PayPlan
    fixed_kop: int
    bookings: int
    plan_bookings: int
    bonus_per_booking_kop: int
    sales_kop: int
    sales_target_kop: int
    sales_percent: Decimal

    @property
    def extra_bookings(self) -> int:
        return max(0, self.bookings - self.plan_bookings)

    @property
    def bonus_kop(self) -> int:
        return self.extra_bookings * self.bonus_per_booking_kop

    @property
    def sales_above_kop(self) -> int:
        return max(0, self.sales_kop - self.sales_target_kop)

    @property
    def percent_kop(self) -> int:
        return kop_half_up(self.sales_above_kop * self.sales_percent / 100)

    @property
    def total_kop(self) -> int:
        return self.fixed_kop + self.bonus_kop + self.percent_kop


def payslip(plan: PayPlan, bookings: int, sales_kop: int) -> Payslip:
    """The calculation for one manager from their month's bookings and sales."""
    return Payslip(
        plan=plan,
        fixed_kop=_kop(plan.fixed),
        bookings=bookings,
        plan_bookings=plan.plan_bookings,
        bonus_per_booking_kop=_kop(plan.bonus_per_booking),
        sales_kop=sales_kop,
        sales_target_kop=_kop(plan.sales_target),
        sales_percent=plan.sales_percent,
    )


async def payslips(plans: list[PayPlan], month: Period) -> list[Payslip]:
    """One payslip per plan; two aggregate queries for all managers together."""
    bookings = await kpi.confirmed_by_manager(month)
    sales = {r.key: r.revenue_kop for r in await kpi.revenue_by_manager(month)}
    return [payslip(p, bookings.get(p.manager, 0), sales.get(p.manager, 0)) for p in plans]
