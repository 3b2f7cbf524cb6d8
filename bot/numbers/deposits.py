"""Deposits in the owner's numbers (SQL aggregates): money taken, refunded and kept in a
period, and the no-show rate of visits with and without a paid deposit — the comparison
that tells the owner whether the rule pays for itself (docs/payments.md)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.numbers import sql
from bot.numbers.kpi import Period, Ratio, format_kop

_MONEY = """
SELECT SUM(taken), SUM(taken * amount_kop), SUM(refunded), SUM(refunded * amount_kop),
       SUM(kept), SUM(kept * amount_kop)
FROM (
  SELECT amount_kop,
    CASE WHEN paid_at >= ? AND paid_at < ? THEN 1 ELSE 0 END AS taken,
    CASE WHEN status = 'refunded' AND closed_at >= ? AND closed_at < ? THEN 1 ELSE 0 END
      AS refunded,
    CASE WHEN status = 'kept' AND closed_at >= ? AND closed_at < ? THEN 1 ELSE 0 END AS kept
  FROM deposit
  WHERE (paid_at >= ? AND paid_at < ?) OR (closed_at >= ? AND closed_at < ?)
) x
"""

# Visits of the period with an outcome, split by whether a deposit was paid for them.
_NO_SHOWS = """
SELECT
  SUM(CASE WHEN d.id IS NOT NULL AND a.status = 'no_show' THEN 1 ELSE 0 END),
  SUM(CASE WHEN d.id IS NOT NULL THEN 1 ELSE 0 END),
  SUM(CASE WHEN d.id IS NULL AND a.status = 'no_show' THEN 1 ELSE 0 END),
  SUM(CASE WHEN d.id IS NULL THEN 1 ELSE 0 END)
FROM appointment a
LEFT JOIN deposit d ON d.appointment_id = a.id AND d.paid_at IS NOT NULL
WHERE a.start >= ? AND a.start < ? AND a.status IN ('came', 'no_show')
"""


@dataclass(frozen=True)
class DepositFigures:
    taken: int
    taken_kop: int
    refunded: int
    refunded_kop: int
    kept: int
    kept_kop: int
    no_show_with: Ratio
    no_show_without: Ratio

    @property
    def any(self) -> bool:
        return bool(self.taken or self.refunded or self.kept or self.no_show_with.denominator)


async def deposit_figures(p: Period) -> DepositFigures:
    span = [p.start, p.end]
    money = await sql.one(_MONEY, span * 5)
    with_ns, with_all, without_ns, without_all = await sql.one(_NO_SHOWS, span)
    return DepositFigures(*money, Ratio(with_ns, with_all), Ratio(without_ns, without_all))


def deposit_lines(f: DepositFigures, t) -> list[str]:
    """The report's lines (empty when deposits played no part in the period)."""
    if not f.any:
        return []
    return [
        t(
            "reports.deposits.money",
            taken=format_kop(f.taken_kop),
            taken_n=f.taken,
            refunded=format_kop(f.refunded_kop),
            kept=format_kop(f.kept_kop),
        ),
        t(
            "reports.deposits.no_shows",
            with_deposit=f.no_show_with.format(),
            without=f.no_show_without.format(),
        ),
    ]
