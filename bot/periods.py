"""Report periods typed by people: «today», «вчера», «2026-11», «2026-11-01..2026-11-15».

A period is a range of LOCAL dates (both included); `kpi.Period.between` turns it into UTC
at the business's local midnights. No argument means the current week (Monday to today's
week end), because the weekly rhythm is how owners read these numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.config import BusinessConfig
from bot.kpi import Period

TODAY = ("today", "сегодня")
YESTERDAY = ("yesterday", "вчера")
WEEK = ("week", "неделя", "")
MONTH = ("month", "месяц")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$")
MAX_DAYS = 366  # a longer range is refused: reports are sized for a year at most


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


def month_span(year: int, month: int) -> Span:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return Span(dt.date(year, month, 1), following - dt.timedelta(days=1))


def week_span(day: dt.date) -> Span:
    monday = day - dt.timedelta(days=day.weekday())
    return Span(monday, monday + dt.timedelta(days=6))


def parse_span(text: str, today: dt.date) -> Span | None:
    """The span a person meant, or None when the words are not one of the accepted forms."""
    word = text.strip().casefold()
    if word in TODAY:
        return Span(today, today)
    if word in YESTERDAY:
        yesterday = today - dt.timedelta(days=1)
        return Span(yesterday, yesterday)
    if word in WEEK:
        return week_span(today)
    if word in MONTH:
        return month_span(today.year, today.month)
    try:
        if match := _MONTH.match(word):
            return month_span(int(match[1]), int(match[2]))
        if match := _RANGE.match(word):
            first = dt.date.fromisoformat(match[1])
            last = dt.date.fromisoformat(match[2] or match[1])
            if first <= last and (last - first).days < MAX_DAYS:
                return Span(first, last)
    except ValueError:  # 2026-13, 2026-02-30
        return None
    return None
