"""Injected time: production reads the system clock, tests move a fake one."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current moment, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FakeClock:
    """A clock tests set and advance; never sleeps."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, moment: dt.datetime) -> None:
        self._now = moment.astimezone(dt.UTC)

    def advance(self, **delta: float) -> dt.datetime:
        self._now += dt.timedelta(**delta)
        return self._now


class FixedClock:
    """One moment, for core code handed a change's own `now` rather than a clock."""

    def __init__(self, moment: dt.datetime) -> None:
        self._now = moment.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._now
