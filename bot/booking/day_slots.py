"""The slot page's engine: each master's free slots of one local day, computed once.

A client pages through the same few days again and again ("more", a lost race, the next
client asking for the same week), and a master's day changes only when a visit or an
override touching it does. So a master's free slots of a day for a visit length are kept,
keyed by everything that decides them (the master, the day, the length, the day's busy
spans and overrides); an unchanged day costs a dict lookup, a changed one is computed again
by the rules of bot.booking.slots (`day_free_spans`), which stay the one place they live.
The key holds the busy spans themselves, so whatever feeds them (the version-checked cache
of bot.booking.master_times or the database) decides freshness, never this memo.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Generic, NamedTuple, TypeVar

from bot.booking.slots import UTC, Slot, Span, TimeChange, day_bounds, day_free_spans
from bot.config import BusinessConfig, Master, Service

T = TypeVar("T")
MEMO_LIMIT = 5_000  # master-days and lengths kept (a few MB): 10 masters, 2 months, 8 lengths
WALLS_LIMIT = 50_000  # starts' local wall times: two months of 5-minute starts


class Offer(NamedTuple):
    """A free slot with its local wall time, read once when its day is computed (a tuple:
    a changed day makes a few dozen of them)."""

    slot: Slot
    order: int  # the master's place in the config: at one start, the earlier master first
    day: dt.date  # local date of the start
    time: dt.time  # local wall time of the start
    minute: int  # local minute of the day of the start


class SpanIndex(Generic[T]):
    """Items with a [start, end) sorted by start, for picking those that meet a day. As
    immutable as its items: what a day picked is kept (an index comes with a cache entry,
    which a change replaces)."""

    __slots__ = ("_ends", "_items", "_longest", "_met", "_starts")

    def __init__(self, items: Iterable[T], span: Callable[[T], Span]) -> None:
        self._items = sorted(items, key=span)
        spans = [span(item) for item in self._items]
        self._starts = [s for s, _ in spans]
        self._ends = [e for _, e in spans]
        self._longest = max((e - s for s, e in spans), default=dt.timedelta(0))
        self._met: dict[Span, tuple[T, ...]] = {}

    def meeting(self, lo: dt.datetime, hi: dt.datetime) -> tuple[T, ...]:
        """The items that meet [lo, hi), in order."""
        met = self._met.get((lo, hi))
        if met is None:
            first = bisect.bisect_right(self._starts, lo - self._longest)
            last = bisect.bisect_left(self._starts, hi)
            ends, items = self._ends, self._items
            met = self._met[lo, hi] = tuple(items[k] for k in range(first, last) if ends[k] > lo)
        return met

    def meets(self, lo: dt.datetime, hi: dt.datetime) -> bool:
        """Whether any item meets [lo, hi); not kept, as `meeting`'s are (one check's
        span is its own)."""
        first = bisect.bisect_right(self._starts, lo - self._longest)
        last = bisect.bisect_left(self._starts, hi)
        ends = self._ends
        return any(ends[k] > lo for k in range(first, last))


def busy_index(spans: Iterable[Span]) -> SpanIndex[Span]:
    """A master's busy spans [start, end + buffer)."""
    return SpanIndex(spans, _itself)


def change_index(changes: Iterable[TimeChange]) -> SpanIndex[TimeChange]:
    """A master's overrides."""
    return SpanIndex(changes, _change_span)


def _itself(span: Span) -> Span:
    return span


def _change_span(change: TimeChange) -> Span:
    return change.start, change.end


NO_SPANS: SpanIndex[Span] = busy_index(())
NO_CHANGES: SpanIndex[TimeChange] = change_index(())


class DaySlots:
    """The memo of one config (a catalog change brings a new config, hence a new memo)."""

    def __init__(self, config: BusinessConfig) -> None:
        self.config = config
        self.services = {s.id: s for s in config.services}
        self._tz = config.tz
        self._buffer = dt.timedelta(minutes=config.booking.buffer_minutes)
        self._bounds: dict[dt.date, Span] = {}
        self._memo: dict[tuple, tuple[Offer, ...]] = {}
        self._walls: dict[dt.datetime, tuple[dt.date, dt.time, int]] = {}

    def iter_offers(
        self,
        service: Service,
        minutes: int,
        busy: Mapping[str, SpanIndex[Span]],
        changes: Mapping[str, SpanIndex[TimeChange]],
        within: Span,
        now: dt.datetime,
        day_from: dt.date,
        day_to: dt.date,
    ) -> Iterator[Offer]:
        """What `slots.iter_free_slots` yields for the same inputs (its changes: those in
        `changes` meeting `within`), slot for slot and in its order (tests/test_day_slots.py
        holds them equal), as offers; lazy, a day at a time."""
        config, rules = self.config, self.config.booking
        now = now.astimezone(UTC)
        earliest = now + dt.timedelta(minutes=rules.min_lead_minutes)
        today = now.astimezone(self._tz).date()
        day = max(day_from, today)
        last = min(day_to, today + dt.timedelta(days=rules.horizon_days))
        wanted = set(service.masters)
        masters = [(i, m) for i, m in enumerate(config.masters) if m.id in wanted]
        while day <= last:
            found: list[Offer] = []
            for order, master in masters:
                spans, moved = busy.get(master.id, NO_SPANS), changes.get(master.id, NO_CHANGES)
                found += self.master_day(order, master, day, minutes, spans, moved, within)
            if len(masters) > 1:
                found.sort(key=lambda o: (o.slot.start, o.order))
            for offer in found:
                if offer.slot.start >= earliest:
                    yield offer
            day += dt.timedelta(days=1)

    def master_day(
        self,
        order: int,
        master: Master,
        day: dt.date,
        minutes: int,
        busy: SpanIndex[Span],
        changes: SpanIndex[TimeChange],
        within: Span,
    ) -> tuple[Offer, ...]:
        """A master's free slots of a local day for a visit of `minutes`, lead time aside."""
        start, end = self._day(day)
        spans = busy.meeting(start, end + self._buffer)
        since, until = within
        moved = tuple(c for c in changes.meeting(start, end) if c.end > since and c.start < until)
        key = (master.id, day, minutes, spans, moved)
        offers = self._memo.get(key)
        if offers is None:
            free = day_free_spans(self.config, master, day, minutes, spans, moved)
            offers = tuple(self._offer(Slot(s, e, master.id), order) for s, e in free)
            if len(self._memo) >= MEMO_LIMIT:  # the oldest first: mostly days since changed
                del self._memo[next(iter(self._memo))]
            self._memo[key] = offers
        return offers

    def _day(self, day: dt.date) -> Span:
        bounds = self._bounds.get(day)
        if bounds is None:
            bounds = self._bounds[day] = day_bounds(self._tz, day)
        return bounds

    def _offer(self, slot: Slot, order: int) -> Offer:
        wall = self._walls.get(slot.start)
        if wall is None:  # a start's local wall time, read once: days are computed anew
            local = slot.start.astimezone(self._tz)  # after every booking touching them
            wall = (local.date(), local.time(), local.hour * 60 + local.minute)
            if len(self._walls) >= WALLS_LIMIT:
                self._walls.clear()
            self._walls[slot.start] = wall
        return Offer(slot, order, *wall)
