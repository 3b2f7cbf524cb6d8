"""Periods and months typed by people: «today», «вчера», «2026-11», «2026-11-01..2026-11-15».

A period is a range of LOCAL dates (both included); `kpi.Period.between` turns it into UTC
at the business's local midnights. Reports default to the current week (the weekly rhythm
is how owners read them), money commands to the current month (pay and spend are monthly).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.config import BusinessConfig
from bot.numbers.kpi import Period

TODAY = ("today", "сегодня")
YESTERDAY = ("yesterday", "вчера")
WEEK = ("week", "неделя")
MONTH = ("month", "месяц")
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$|^(\d{1,2})[./](\d{4})$")  # 2026-11 or 11.2026
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")
MAX_DAYS = 366  # a longer range is refused: reports are sized for a year at most


class PeriodError(ValueError):
    """Text that is not a period or month; `key` is the message explaining the forms."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Span:
    """Local dates, both included."""

    first: dt.date
    last: dt.date

    def period(self, config: BusinessConfig) -> Period:
        return Period.between(config, self.first, self.last)

    def label(self) -> str:
        if self.first == self.last:
            return f"{self.first:%d.%m.%Y}"
        return f"{self.first:%d.%m}–{self.last:%d.%m.%Y}"


def local_today(config: BusinessConfig, now: dt.datetime) -> dt.date:
    return now.astimezone(config.tz).date()


def month_span(year: int, month: int) -> Span:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return Span(dt.date(year, month, 1), following - dt.timedelta(days=1))


def week_span(day: dt.date) -> Span:
    monday = day - dt.timedelta(days=day.weekday())
    return Span(monday, monday + dt.timedelta(days=6))


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _month(text: str) -> tuple[int, int] | None:
    """«2026-11» or «11.2026» as (year, month); None when it is not a sensible month."""
    match = MONTH_RE.match(text)
    if match is None:
        return None
    year, month = (int(g) for g in match.groups() if g is not None)
    if match.group(3) is not None:  # «11.2026»: month first
        year, month = month, year
    return (year, month) if 1 <= month <= 12 and 2000 <= year <= 2100 else None


def parse_month(text: str, today: dt.date) -> tuple[int, int]:
    """A month as (year, month); empty text is the current business month."""
    text = text.strip()
    if not text:
        return today.year, today.month
    month = _month(text)
    if month is None:
        raise PeriodError("money.bad_month")
    return month


def parse_span(text: str, today: dt.date, default: str = "week") -> Span | None:
    """The span a person meant (empty text: `default`), or None when it is not a known form."""
    word = text.strip().casefold() or default
    if word in TODAY:
        return Span(today, today)
    if word in YESTERDAY:
        yesterday = today - dt.timedelta(days=1)
        return Span(yesterday, yesterday)
    if word in WEEK:
        return week_span(today)
    if word in MONTH:
        return month_span(today.year, today.month)
    if month := _month(word):
        return month_span(*month)
    try:
        if match := _RANGE.match(word):
            first = dt.date.fromisoformat(match[1])
            last = dt.date.fromisoformat(match[2] or match[1])
            if first <= last and (last - first).days < MAX_DAYS:
                return Span(first, last)
    except ValueError:  # 2026-02-30
        return None
    return None


def parse_period(text: str, config: BusinessConfig, today: dt.date) -> Period:
    """A period for the money commands; empty text is the current month."""
    span = parse_span(text, today, default="month")
    if span is None:
        raise PeriodError("money.bad_period")
    return span.period(config)
