"""The slot pages found, kept per process: many clients ask for the same page.

Two hundred clients asking for "this week" see the same first page until a booking or a
schedule change touches one of the service's masters; a lost race asks for the pages
around the slot it lost, as the others who lost it do. A page is a pure function of:
- the search's terms (service, add-ons, the wish's window and times, offset, limit),
- the local day (the horizon and the first day searched),
- the masters' visits and overrides: the cache entries of bot.booking.master_times the
  search read, compared by identity (an entry is immutable; a booking, a change, a lost
  race or a forgotten entry each bring a new one, whatever the version counters say),
- the config (its rules and masters: a catalog change brings a new memo), and
- the lead time's cut: as the clock moves on, offers only drop off the front, so a page
  holds until its earliest offer passes `now + lead` (kept as `good_until`). The search's
  override window (a day before now to the horizon's end) holds every day searched, so it
  decides nothing beyond the day.
So a page kept here is served only while every one of those is unchanged; anything else is
a miss and the page is computed again, and the unique cells still decide every booking.
An exact-time page (after a lost race) sorts all of its days' offers by distance: those
offers are kept the same way (`Search.fitting`), so races lost at other times of one day
share them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bot.booking.day_slots import DaySlots, Offer, SpanIndex
from bot.booking.slots import Slot, Span, TimeChange
from bot.config import Service

SearchInputs = tuple[dict[str, SpanIndex[Span]], dict[str, SpanIndex[TimeChange]], Span]

PAGES_LIMIT = 2_000  # pages kept: services x add-ons x wishes x pages, a few KB each


@dataclass(frozen=True)
class SlotPage:
    slots: list[Slot]
    has_more: bool
    matches_wish: bool  # False: nothing fit the wish, these are the nearest others
    from_start: bool = False  # the list shrank below the page asked for: its first page
    # What a renderer made of this page (scenarios.views: the labels and buttons per
    # locale), kept with it: a page served from the memo is rendered once.
    rendered: dict = field(default_factory=dict, init=False, compare=False, repr=False)


class _Kept(NamedTuple):
    entries: tuple[weakref.ref, ...]  # the masters' cache entries the page was found in
    since: dt.datetime  # when it was found: a clock set back misses
    good_until: dt.datetime | None  # the last moment its lead-time cut holds (None: all day)
    page: Any  # a SlotPage, or a search's fitting offers (`Search.fitting`)


class SlotPages:
    """Pages by search terms and day, served while their inputs are the very same."""

    def __init__(self) -> None:
        self._kept: dict[tuple, _Kept] = {}

    def get(self, key: tuple, entries: Sequence[object], now: dt.datetime) -> Any:
        kept = self._kept.get(key)
        if kept is None or now < kept.since:
            return None
        if kept.good_until is not None and now > kept.good_until:
            return None
        if len(kept.entries) != len(entries):
            return None
        for ref, entry in zip(kept.entries, entries, strict=True):
            if ref() is not entry:
                return None
        return kept.page

    def keep(
        self,
        key: tuple,
        entries: Sequence[object],
        now: dt.datetime,
        good_until: dt.datetime | None,
        page: Any,
    ) -> None:
        """Weak references: a page never keeps a replaced entry's visits in memory."""
        if key not in self._kept and len(self._kept) >= PAGES_LIMIT:
            del self._kept[next(iter(self._kept))]  # the oldest first
        refs = tuple(weakref.ref(entry) for entry in entries)
        self._kept[key] = _Kept(refs, now, good_until, page)

    def clear(self) -> None:
        self._kept.clear()


class Search:
    """One search's inputs, and the earliest offer it looked at: the page holds while
    that offer is still past the lead time."""

    def __init__(
        self,
        days: DaySlots,
        service: Service,
        minutes: int,
        inputs: SearchInputs,
        now: dt.datetime,
        today: dt.date,
        lists: tuple[SlotPages, Sequence[object]] | None = None,
    ) -> None:
        self.days, self.service, self.minutes, self.inputs = days, service, minutes, inputs
        self.now, self.today = now, today
        self.lists = lists  # where the fitting offers are kept, and the entries they hold by
        self.first: dt.datetime | None = None  # the earliest start of any offer looked at

    def _saw(self, start: dt.datetime | None) -> None:
        if start is not None and (self.first is None or start < self.first):
            self.first = start

    def offers(self, day_from: dt.date, day_to: dt.date) -> Iterator[Offer]:
        """The day memo's offers, nearest first: the first one is the earliest looked at."""
        busy, changes, within = self.inputs
        args = (self.service, self.minutes, busy, changes, within, self.now, day_from, day_to)
        offers = self.days.iter_offers(*args)
        head = next(offers, None)
        if head is None:
            return offers
        self._saw(head.slot.start)
        return itertools.chain((head,), offers)

    def fitting(
        self, day_from: dt.date, day_to: dt.date, after: dt.time | None, before: dt.time | None
    ) -> tuple[Offer, ...]:
        """Every offer of the days fitting the times, nearest first: an exact-time page sorts
        them all by distance. Kept as pages are (the same entries, day and lead-time cut):
        clients losing races at other times of one day share the day's list."""
        key = (self.service.id, self.minutes, day_from, day_to, after, before, self.today)
        if self.lists is not None:
            kept = self.lists[0].get(key, self.lists[1], self.now)
            if kept is not None:
                first, offers = kept
                self._saw(first)
                return offers
        seen, self.first = self.first, None
        offers = tuple(o for o in self.offers(day_from, day_to) if _fits(o.time, after, before))
        first, self.first = self.first, seen
        self._saw(first)
        if self.lists is not None:
            lead = dt.timedelta(minutes=self.days.config.booking.min_lead_minutes)
            good_until = None if first is None else first - lead
            self.lists[0].keep(key, self.lists[1], self.now, good_until, (first, offers))
        return offers

    def page(
        self,
        day_from: dt.date,
        day_to: dt.date,
        after: dt.time | None,
        before: dt.time | None,
        exact: dt.time | None,
        offset: int,
        limit: int,
    ) -> SlotPage:
        horizon_end = self.today + dt.timedelta(days=self.days.config.booking.horizon_days)
        if day_from > horizon_end:  # a wish (or a forged slot) past the horizon: from today
            day_from = self.today
        wanted: Iterable[Offer]
        if exact is not None:
            wanted = self.fitting(day_from, day_to, after, before)
            minute = exact.hour * 60 + exact.minute  # nearest the wished time first
            wanted = sorted(wanted, key=lambda o: (o.day, abs(o.minute - minute)))
        else:
            wanted = (o for o in self.offers(day_from, day_to) if _fits(o.time, after, before))
        page = [o.slot for o in itertools.islice(wanted, offset, offset + limit + 1)]
        if page:
            return SlotPage(page[:limit], len(page) > limit, True)
        if offset:  # others booked the rest while the client paged on: not "no slots"
            first = self.page(day_from, day_to, after, before, exact, 0, limit)
            return dataclasses.replace(first, from_start=True)
        nearest = self.offers(day_from, horizon_end)
        page = [o.slot for o in itertools.islice(nearest, limit + 1)]
        return SlotPage(page[:limit], len(page) > limit, False)

    def good_until(self) -> dt.datetime | None:
        """The last moment the page holds: offers only drop off the front as time passes
        (those past `now + lead`), so until its earliest offer does; None: it saw none."""
        if self.first is None:
            return None
        return self.first - dt.timedelta(minutes=self.days.config.booking.min_lead_minutes)


def _fits(start: dt.time, after: dt.time | None, before: dt.time | None) -> bool:
    return (after is None or start >= after) and (before is None or start <= before)
