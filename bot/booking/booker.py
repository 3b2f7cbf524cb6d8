"""Booking against the database: free slots for a wish, and a race-proof booking.

No double booking is enforced by the unique (master, cell) constraint of `MasterCell`,
not by a lock: it holds across tasks, processes and machines alike. Within a client step
(bot.booking.versions.snapshot) the masters' visits and overrides come from this process's
cache (bot.booking.master_times), so a slot page costs no query.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal

from tortoise.transactions import in_transaction

from bot.booking import booking_rows, master_times, versions, waitlist
from bot.booking.day_slots import DaySlots, busy_index, change_index
from bot.booking.slot_pages import Search, SearchInputs, SlotPage, SlotPages
from bot.booking.slots import (
    Busy,
    Changes,
    Slot,
    TimeChange,
    is_free,
    is_offerable,
    iter_free_slots,
    occupied_span,
    visit_minutes,
    working_spans,
)
from bot.clock import Clock
from bot.config import GRID_MINUTES, BusinessConfig, Service
from bot.models import (
    OCCUPYING_STATUSES,
    Appointment,
    AppointmentStatus,
    Client,
    Lead,
    MasterCell,
)
from bot.schedule_models import OverrideKind, ScheduleOverride

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
CACHED_BEFORE = dt.timedelta(days=2)  # the cached window: from now - 2 days ...
CACHED_AFTER_HORIZONS = 2  # ... to two horizons (and 4 days) ahead: every search's reach


__all__ = ["Booker", "SlotPage", "cells_of", "price_kop"]


def cells_of(master_id: str, start: dt.datetime, end: dt.datetime) -> list[tuple[str, int]]:
    first = int((start - EPOCH).total_seconds() // 60) // GRID_MINUTES
    last = -(-int((end - EPOCH).total_seconds() // 60) // GRID_MINUTES)  # ceil
    return [(master_id, cell) for cell in range(first, last)]


def price_kop(service: Service, addon_ids: Sequence[str]) -> int:
    total = service.price + sum((a.price for a in service.addons if a.id in addon_ids), Decimal(0))
    return int(total * 100)


class Booker:
    """Finds free slots and books them for one business."""

    def __init__(self, config: BusinessConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._times = master_times.TimesCache()
        self._days = DaySlots(config)
        self._pages = SlotPages()
        self._lists = SlotPages()  # the fitting offers exact-time pages sort (`Search.fitting`)

    def _busy_window(self, since: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """Where visits can block a slot from `since` to the end of the booking horizon."""
        until = since + dt.timedelta(days=self.config.booking.horizon_days + 2)
        return since - dt.timedelta(minutes=self.config.booking.buffer_minutes), until

    async def busy(self, master_ids: Sequence[str], since: dt.datetime) -> Busy:
        """Occupied spans of the masters from `since` to the end of the booking horizon."""
        buffer = self.config.booking.buffer_minutes
        since, until = self._busy_window(since)
        cached = await self._cached(master_ids, since, until)
        if cached is not None:
            rows = [
                (m, s, e)
                for m, entry in cached.items()
                for s, e in entry.visits_meeting(since, until)
            ]
        else:
            rows = await Appointment.filter(
                master_id__in=list(master_ids),
                status__in=OCCUPYING_STATUSES,
                end__gt=since,
                start__lt=until,
            ).values_list("master_id", "start", "end")
        spans: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        for master_id, start, end in rows:
            spans[master_id].append(occupied_span(start, end, buffer))
        for span_list in spans.values():
            span_list.sort()
        return spans

    async def _search_entries(
        self, master_ids: Sequence[str], now: dt.datetime
    ) -> tuple[master_times.MasterTimes, ...] | None:
        """The masters' cache entries a search at `now` reads, in the order of `master_ids`
        (None outside a client step's snapshot: the search reads the database)."""
        since = now - dt.timedelta(days=1)
        cached = await self._cached(master_ids, since, self._busy_window(now)[1])
        return None if cached is None else tuple(cached[m] for m in master_ids)

    async def _search_inputs(
        self,
        master_ids: Sequence[str],
        now: dt.datetime,
        entries: Sequence[master_times.MasterTimes] | None,
    ) -> SearchInputs:
        """What a search reads, as `busy(now)` and `changes(now - 1 day)` give it, indexed
        by start. In a client step both come from the entries, the indexes with them (all
        their visits: those outside the window block no slot of the search), so a warm
        page builds nothing."""
        since = now - dt.timedelta(days=1)
        until = since + dt.timedelta(days=self.config.booking.horizon_days + 2)
        if entries is None:
            busy = await self.busy(master_ids, now)
            changes = await self._read_changes(master_ids, since, until)
            return (
                {m: busy_index(busy.get(m, ())) for m in master_ids},
                {m: change_index(changes.get(m, ())) for m in master_ids},
                (since, until),
            )
        buffer = self.config.booking.buffer_minutes
        return (
            {m: entry.busy_index(buffer) for m, entry in zip(master_ids, entries, strict=True)},
            {m: entry.change_index() for m, entry in zip(master_ids, entries, strict=True)},
            (since, until),
        )

    async def changes(self, master_ids: Sequence[str], since: dt.datetime) -> Changes:
        """Active overrides of the masters meeting [since, horizon end): ONE query per search
        at most (see bot.booking.slots.working_spans, the one place that applies them)."""
        until = since + dt.timedelta(days=self.config.booking.horizon_days + 2)
        cached = await self._cached(master_ids, since, until)
        if cached is None:
            return await self._read_changes(master_ids, since, until)
        return {m: entry.changes_meeting(since, until) for m, entry in cached.items()}

    async def _read_changes(
        self, master_ids: Sequence[str], since: dt.datetime, until: dt.datetime
    ) -> Changes:
        rows = await ScheduleOverride.filter(
            master_id__in=list(master_ids), undone_at__isnull=True, end__gt=since, start__lt=until
        ).values_list("master_id", "kind", "start", "end")
        found: dict[str, list[TimeChange]] = defaultdict(list)
        for master_id, kind, start, end in rows:
            found[master_id].append(TimeChange(start, end, kind == OverrideKind.EXTRA_SHIFT))
        return found

    async def _cached(
        self, master_ids: Sequence[str], since: dt.datetime, until: dt.datetime
    ) -> dict[str, master_times.MasterTimes] | None:
        """The masters' times from this process's cache, loading the stale ones; None outside
        a client step's snapshot or beyond the cached window (the caller reads the database)."""
        snapshot = versions.current()
        now = self.clock.now()
        lo = now - CACHED_BEFORE
        hi = now + dt.timedelta(days=CACHED_AFTER_HORIZONS * self.config.booking.horizon_days + 4)
        if snapshot is None or since < lo or until > hi:
            return None
        wanted = {m: snapshot.get(versions.master_key(m), 0) for m in master_ids}
        return await self._times.get(wanted, since, until, (lo, hi))

    def forget_cached(self, master_ids: Sequence[str] | None = None) -> None:
        self._times.forget(master_ids)

    async def free_slots(
        self,
        service: Service,
        addon_ids: Sequence[str],
        day_from: dt.date,
        day_to: dt.date,
        changes: Changes | None = None,
    ) -> Iterator[Slot]:
        now = self.clock.now()
        busy = await self.busy(service.masters, now)
        if changes is None:
            changes = await self.changes(service.masters, now - dt.timedelta(days=1))
        return iter_free_slots(
            self.config, service, addon_ids, busy, now, day_from, day_to, changes
        )

    async def find(
        self,
        service_id: str,
        addon_ids: Sequence[str],
        day_from: dt.date,
        day_to: dt.date,
        after: dt.time | None,
        before: dt.time | None,
        exact: dt.time | None,
        offset: int,
        limit: int,
    ) -> SlotPage:
        """Slots matching a client's wish, nearest first; else the nearest ones after it.
        The slots are `free_slots`' own, from the per-day memo (bot.booking.day_slots);
        in a client step the page itself is kept for the next client asking for it
        (bot.booking.slot_pages says what it depends on)."""
        days = self._day_slots()
        service = days.services.get(service_id)
        if service is None:
            return SlotPage([], False, False)
        now = self.clock.now()
        today = _local_day_of(now, self.config.tz)
        entries = await self._search_entries(service.masters, now)
        wish = (day_from, day_to, after, before, exact)
        key = (service_id, tuple(addon_ids), *wish, offset, limit, today)
        if entries is not None and (page := self._pages.get(key, entries, now)) is not None:
            return page
        inputs = await self._search_inputs(service.masters, now, entries)
        minutes = visit_minutes(service, addon_ids)
        lists = None if entries is None else (self._lists, entries)
        search = Search(days, service, minutes, inputs, now, today, lists)
        page = search.page(*wish, offset, limit)
        if entries is not None:
            self._pages.keep(key, entries, now, search.good_until(), page)
        return page

    def _day_slots(self) -> DaySlots:
        """The per-day memo of the current config (a catalog change swaps the config, and
        with it every page found)."""
        if self._days.config is not self.config:
            self._days = DaySlots(self.config)
            self._pages.clear()
            self._lists.clear()
        return self._days

    async def is_free(self, slot: Slot) -> bool:
        busy = await self.busy([slot.master_id], slot.start - dt.timedelta(days=1))
        return is_free(slot, busy, self.config.booking.buffer_minutes)

    async def offerable(self, slot: Slot, service: Service, addon_ids: Sequence[str]) -> bool:
        """Whether the engine would offer the slot now (a forged or taken one: False). In a
        client step it costs no query and one look at the cache (the snapshot's visits and
        overrides), and a taken slot (most confirms under load) is told by its master's
        busy index alone."""
        now = self.clock.now()
        since = slot.start - dt.timedelta(days=1)
        until = slot.end + dt.timedelta(days=1)  # the visits within a day: all it needs
        reach = since + dt.timedelta(days=self.config.booking.horizon_days + 2)  # `changes`'
        buffer = self.config.booking.buffer_minutes
        cached = await self._cached([slot.master_id], since, max(until, reach))
        if cached is None:
            busy = await self.busy([slot.master_id], now)
            changes = await self.changes([slot.master_id], since)
            return is_offerable(self.config, service, addon_ids, slot, busy, now, changes)
        entry = cached[slot.master_id]
        _, held_until = occupied_span(slot.start, slot.end, buffer)
        if entry.busy_index(buffer).meets(slot.start, held_until):
            return False  # not free, whatever else holds
        visits = entry.visits_meeting(since, until)
        busy = {slot.master_id: [occupied_span(s, e, buffer) for s, e in visits]}
        changes = {slot.master_id: entry.changes_meeting(since, reach)}
        return is_offerable(self.config, service, addon_ids, slot, busy, now, changes)

    async def book(
        self,
        slot: Slot,
        service: Service,
        addon_ids: Sequence[str],
        client: Client | None,
        lead: Lead | None,
        deposit_kop: int | None = None,
        checked: bool = False,
        owners: tuple[int | None, int | None] | None = None,
    ) -> Appointment | None:
        """Book the slot, or return None when another booking got any part of it first or
        the slot engine would not offer it (a forged button): every caller gets the check
        (`checked`: the caller has just asked `offerable` in this step's snapshot). With
        `deposit_kop` the booking is a hold (HELD) until the deposit is paid. `owners`: the
        lead's and the client's ids instead of their rows (existing rows: nothing deletes
        a lead or a client), so a race lost at the cells has read neither."""
        if not checked and not await self.offerable(slot, service, addon_ids):
            return None
        now = self.clock.now()
        status = (
            AppointmentStatus.HELD
            if deposit_kop
            else AppointmentStatus.CONFIRMED
            if self.config.booking.mode == "instant"
            else AppointmentStatus.PENDING
        )
        _, held_until = occupied_span(slot.start, slot.end, self.config.booking.buffer_minutes)
        lead_id, client_id = owners or (lead and lead.id, client and client.id)
        row = {
            "lead_id": lead_id,
            "client_id": client_id,
            "service_id": service.id,
            "addon_ids": list(addon_ids),
            "master_id": slot.master_id,
            "start": slot.start,
            "end": slot.end,
            "price_kop": price_kop(service, addon_ids),
            "deposit_kop": int(service.deposit * 100) if deposit_kop is None else deposit_kop,
            "status": status,
            "created_at": now,
        }
        cells = cells_of(slot.master_id, slot.start, held_until)
        since = slot.start - dt.timedelta(days=1)
        until = since + dt.timedelta(days=self.config.booking.horizon_days + 2)
        found = await booking_rows.insert(row, cells, slot.master_id, since, until)
        if found is None:
            self._times.taken(slot.master_id, slot.start, slot.end)  # since the snapshot
            return None
        appointment, written = found
        if self._overridden(slot, written):  # an override committed meanwhile: it wins
            await appointment.delete()  # never shown to anyone: as if it lost the race
            self._times.forget([slot.master_id])  # the override is newer than the snapshot
            return None
        return appointment

    def _overridden(self, slot: Slot, changes: Changes) -> bool:
        """`changes` were read after the booking was written (bot.booking.booking_rows): an
        override committed before that read is seen here, one committed after it sees the
        booking (bot.booking.schedule reads visits after its own commit), so a booking and
        a change racing never leave a silent overlap."""
        day = slot.start.astimezone(self.config.tz).date()
        master = self.config.master(slot.master_id)
        if master is None:
            return True
        spans = working_spans(self.config, master, day, changes.get(slot.master_id, ()))
        return not any(a <= slot.start and slot.end <= b for a, b in spans)

    async def cancel(self, appointment: Appointment) -> None:
        """Cancel and free the master's time at once; the waitlist is offered it in the same
        transaction (every cancellation and move of every caller comes through here)."""
        now = self.clock.now()
        async with in_transaction():
            appointment.status = AppointmentStatus.CANCELLED
            appointment.cancelled_at = now
            await appointment.save(update_fields=["status", "cancelled_at"])
            await MasterCell.filter(appointment_id=appointment.id).delete()
            a = appointment
            await waitlist.slot_freed(self, a.master_id, a.start, a.end, now)


def _local_day_of(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return moment.astimezone(tz).date()
