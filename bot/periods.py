"""Periods and months typed by people: «2026-11», «today», «week», «2026-11-01..2026-11-15».

Pure functions over the business config and a local date; a bad text raises `PeriodError`
whose `key` names the catalog message that explains the accepted forms.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.config import BusinessConfig
from bot.kpi import Period

MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$|^(\d{1,2})[./](\d{4})$")
_WORDS = {
    "today": "today",
    "сегодня": "today",
    "yesterday": "yesterday",
    "вчера": "yesterday",
    "week": "week",
    "неделя": "week",
    "month": "month",
    "месяц": "month",
}


class PeriodError(ValueError):
    """Text that is not a period or month; `key` is the message explaining the forms."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def local_today(config: BusinessConfig, now: dt.datetime) -> dt.date:
    return now.astimezone(config.tz).date()


def parse_month(text: str, today: dt.date) -> tuple[int, int]:
    """«2026-11» or «11.2026»; empty text is the current business month."""
    text = text.strip()
    if not text:
        return today.year, today.month
    match = MONTH_RE.match(text)
    if match is None:
        raise PeriodError("money.bad_month")
    year, month = (int(g) for g in match.groups() if g is not None)
    if match.group(3) is not None:  # «11.2026»: month first
        year, month = month, year
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise PeriodError("money.bad_month")
    return year, month


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def parse_period(text: str, config: BusinessConfig, today: dt.date) -> Period:
    """A period in local dates; empty text is the current month (so far and the rest)."""
    text = text.strip().casefold()
    word = _WORDS.get(text or "month")
    if word == "today":
        return Period.day(config, today)
    if word == "yesterday":
        return Period.day(config, today - dt.timedelta(days=1))
    if word == "week":
        return Period.week(config, today - dt.timedelta(days=today.weekday()))
    if word == "month":
        return Period.month(config, today.year, today.month)
    if ".." in text:
        first, _, last = text.partition("..")
        try:
            return Period.between(config, _date(first), _date(last))
        except ValueError:
            raise PeriodError("money.bad_period") from None
    if MONTH_RE.match(text):
        try:
            return Period.month(config, *parse_month(text, today))
        except PeriodError:
            raise PeriodError("money.bad_period") from None
    return Period.day(config, _date(text))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError("money.bad_period") from None
