"""The working-time clock: SLA minutes count only during the business's own hours.

A lead that arrives at 22:00 with a 15-minute SLA is due 15 working minutes after the
next opening, in the business timezone, skipping days off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from bot.config import BusinessConfig

MAX_DAYS_SCANNED = 400  # a config with no working time at all must not loop forever


def _open_spans(config: BusinessConfig, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    if day in config.days_off:
        return []
    tz = config.tz
    return [
        (
            dt.datetime.combine(day, i.start, tzinfo=tz).astimezone(dt.UTC),
            dt.datetime.combine(day, i.end, tzinfo=tz).astimezone(dt.UTC),
        )
        for i in config.hours.for_weekday(day.weekday())
    ]


def _spans_from(
    config: BusinessConfig, moment: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Working spans (UTC) from `moment` on, the first one clipped to start at it."""
    day = moment.astimezone(config.tz).date() - dt.timedelta(days=1)
    for offset in range(MAX_DAYS_SCANNED):
        for start, end in _open_spans(config, day + dt.timedelta(days=offset)):
            if end > moment:
                yield max(start, moment), end


def add_working_minutes(config: BusinessConfig, start: dt.datetime, minutes: float) -> dt.datetime:
    """The moment `minutes` of working time after `start`."""
    left = dt.timedelta(minutes=minutes)
    for span_start, span_end in _spans_from(config, start):
        if span_start + left <= span_end:
            return span_start + left
        left -= span_end - span_start
    raise ValueError("the business has no working hours in the next year")


def working_minutes_between(config: BusinessConfig, start: dt.datetime, end: dt.datetime) -> float:
    """Working minutes from `start` to `end` (0 when end is not after start)."""
    total = dt.timedelta(0)
    if end <= start:
        return 0.0
    for span_start, span_end in _spans_from(config, start):
        if span_start >= end:
            break
        total += min(span_end, end) - span_start
    return total.total_seconds() / 60


def is_working(config: BusinessConfig, moment: dt.datetime) -> bool:
    return any(
        start <= moment < end
        for start, end in _open_spans(config, moment.astimezone(config.tz).date())
    )
