"""The slot page's per-day memo (bot.booking.day_slots) offers exactly what the slot engine
(bot.booking.slots.iter_free_slots) offers, slot for slot and in its order, on varied
calendars: own schedules, days off, breaks, visits, overrides that add and remove time,
add-on lengths, buffers, lead times, a zone without DST and one across both DST changes;
and a memo reused while the calendar changes never serves a day as it was."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from bot.booking import day_slots, versions
from bot.booking.booker import Booker, SlotPage
from bot.booking.day_slots import DaySlots, busy_index, change_index
from bot.booking.slots import TimeChange, iter_free_slots, occupied_span, visit_minutes
from bot.config import BusinessConfig
from bot.models import Appointment, AppointmentStatus
from bot.schedule_models import OverrideKind, ScheduleOverride
from tests.test_slots import make_config

UTC = dt.UTC
ALWAYS = (dt.datetime.min.replace(tzinfo=UTC), dt.datetime.max.replace(tzinfo=UTC))
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MASTERS = [
    {"id": "anna", "name": "Anna", "days_off": ["2026-03-31"]},
    {
        "id": "olga",
        "name": "Olga",
        "schedule": dict.fromkeys(WEEK, "09:30-13:00, 14:00-20:00"),
    },
    {
        "id": "ivan",
        "name": "Ivan",
        "schedule": {"mon": "12:00-21:00", "sun": "00:00-05:00, 10:00-16:00", "sat": "01:30-04:00"},
    },
]
SERVICES = [
    {
        "id": "cut",
        "title": "Cut",
        "duration": 45,
        "price": 1000,
        "masters": ["ivan", "anna", "olga"],
        "addons": [
            {"id": "wash", "title": "Wash", "duration": 15},
            {"id": "style", "title": "Style", "duration": 40},
        ],
    },
    {"id": "nails", "title": "Nails", "duration": 90, "price": 2000, "masters": ["olga"]},
]
HOURS = dict.fromkeys(WEEK, "00:00-23:55")
# Around Berlin's spring (29 March) and autumn (25 October) changes; Omsk has none.
STARTS = [dt.datetime(2026, 3, 26, 7, 13, tzinfo=UTC), dt.datetime(2026, 10, 22, 16, 0, tzinfo=UTC)]


def calendar(config: BusinessConfig, rng: random.Random, now: dt.datetime, n: int):
    """Random visits (some off the grid, some long) and overrides of every kind."""
    visits: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    changes: dict[str, list[TimeChange]] = {}
    for master in config.masters:
        for _ in range(n):
            start = now + dt.timedelta(minutes=rng.randrange(-600, 10 * 24 * 60, 5))
            start += dt.timedelta(minutes=rng.choice((0, 0, 0, 2)))
            length = dt.timedelta(minutes=rng.choice((15, 30, 45, 60, 95, 240)))
            visits.setdefault(master.id, []).append((start, start + length))
        for _ in range(n // 4):
            start = now + dt.timedelta(minutes=rng.randrange(-2000, 10 * 24 * 60, 15))
            length = dt.timedelta(minutes=rng.choice((30, 60, 120, 24 * 60, 3 * 24 * 60)))
            change = TimeChange(start, start + length, adds=rng.random() < 0.4)
            changes.setdefault(master.id, []).append(change)
    return visits, changes


def engine(config, service, addons, visits, changes, now, days):
    buffer = config.booking.buffer_minutes
    busy = {m: sorted(occupied_span(s, e, buffer) for s, e in v) for m, v in visits.items()}
    return list(iter_free_slots(config, service, addons, busy, now, *days, changes))


def memo(memo: DaySlots, service, addons, visits, changes, now, days):
    buffer = memo.config.booking.buffer_minutes
    busy = {m: busy_index(occupied_span(s, e, buffer) for s, e in v) for m, v in visits.items()}
    moved = {m: change_index(c) for m, c in changes.items()}
    minutes = visit_minutes(service, addons)
    offers = memo.iter_offers(service, minutes, busy, moved, ALWAYS, now, *days)
    return [o.slot for o in offers]


@pytest.mark.parametrize("timezone", ["Asia/Omsk", "Europe/Berlin"])
@pytest.mark.parametrize("seed", range(4))
def test_the_memo_offers_what_the_engine_offers(timezone, seed):
    rng = random.Random(seed)
    config = make_config(
        timezone=timezone,
        hours=HOURS,
        days_off=["2026-03-30", "2026-10-27"],
        masters=MASTERS,
        services=SERVICES,
        buffer_minutes=rng.choice((0, 10, 15)),
        min_lead_minutes=rng.choice((0, 60, 125)),
        slot_step_minutes=rng.choice((15, 30, 45)),
        horizon_days=8,
    )
    days = DaySlots(config)
    for now in STARTS:
        today = now.astimezone(config.tz).date()
        visits, changes = calendar(config, rng, now, 30)
        for service in config.services:
            for addons in ([], ["wash"], ["wash", "style"]):
                for offset in (-1, 0, 2):
                    window = (today + dt.timedelta(days=offset), today + dt.timedelta(days=9))
                    want = engine(config, service, addons, visits, changes, now, window)
                    assert want, "a calendar this test learns nothing from"
                    assert memo(days, service, addons, visits, changes, now, window) == want
                    # ... and again from the warm memo, a little later in the day
                    later = now + dt.timedelta(minutes=rng.randrange(0, 300))
                    want = engine(config, service, addons, visits, changes, later, window)
                    assert memo(days, service, addons, visits, changes, later, window) == want


def test_a_changed_day_is_never_served_from_the_memo():
    """Book, move and cancel visits and block and add time one at a time, with one memo
    throughout: every page after each change is the engine's answer to the new calendar."""
    rng = random.Random(99)
    config = make_config(
        timezone="Europe/Berlin", hours=HOURS, masters=MASTERS, services=SERVICES, horizon_days=4
    )
    days, now = DaySlots(config), STARTS[0]
    window = (now.astimezone(config.tz).date(), now.astimezone(config.tz).date() + dt.timedelta(4))
    visits, changes = calendar(config, rng, now, 12)
    service = config.services[0]
    for _ in range(60):
        master = rng.choice(config.masters).id
        offered = memo(days, service, ["wash"], visits, changes, now, window)
        assert offered == engine(config, service, ["wash"], visits, changes, now, window)
        move = rng.random()
        if move < 0.4 and offered:  # a client books one of the offered slots
            taken = rng.choice(offered)
            visits.setdefault(taken.master_id, []).append((taken.start, taken.end))
        elif move < 0.6 and visits.get(master):  # a visit is cancelled
            visits[master].pop(rng.randrange(len(visits[master])))
        else:  # staff block an hour, or add a shift
            start = now + dt.timedelta(minutes=rng.randrange(0, 4 * 24 * 60, 30))
            change = TimeChange(start, start + dt.timedelta(hours=1), adds=move > 0.85)
            changes.setdefault(master, []).append(change)


def test_a_full_memo_drops_its_oldest_days(monkeypatch):
    monkeypatch.setattr(day_slots, "MEMO_LIMIT", 3)
    config = make_config(timezone="Europe/Berlin", hours=HOURS, masters=MASTERS, services=SERVICES)
    days, now = DaySlots(config), STARTS[1]
    window = (now.astimezone(config.tz).date(), now.astimezone(config.tz).date() + dt.timedelta(5))
    visits, changes = calendar(config, random.Random(3), now, 20)
    service = config.services[0]
    for _ in range(2):
        offered = memo(days, service, [], visits, changes, now, window)
        assert offered == engine(config, service, [], visits, changes, now, window)
        assert len(days._memo) == 3


async def old_find(booker: Booker, *wish) -> SlotPage:
    """`Booker.find` as it was before the memo, on the untouched engine (`free_slots`)."""
    service_id, addon_ids, day_from, day_to, after, before, exact, offset, limit = wish
    service, tz = booker.config.service(service_id), booker.config.tz
    today = booker.clock.now().astimezone(tz).date()
    horizon_end = today + dt.timedelta(days=booker.config.booking.horizon_days)
    day_from = today if day_from > horizon_end else day_from
    changes = await booker.changes(service.masters, booker.clock.now() - dt.timedelta(days=1))
    found = await booker.free_slots(service, addon_ids, day_from, day_to, changes)
    local = [(s, s.start.astimezone(tz)) for s in found]
    wanted = [(s, t) for s, t in local if (after is None or t.time() >= after)]
    wanted = [(s, t) for s, t in wanted if (before is None or t.time() <= before)]
    if exact is not None:
        goal = exact.hour * 60 + exact.minute
        wanted.sort(key=lambda p: (p[1].date(), abs(p[1].hour * 60 + p[1].minute - goal)))
    page = [s for s, _ in wanted[offset : offset + limit + 1]]
    if page:
        return SlotPage(page[:limit], len(page) > limit, True)
    if offset:
        first = await old_find(booker, *wish[:7], 0, limit)
        return dataclasses.replace(first, from_start=True)
    nearest = list(await booker.free_slots(service, addon_ids, day_from, horizon_end, changes))
    return SlotPage(nearest[:limit], len(nearest) > limit, False)


async def test_find_pages_as_before_from_the_cache_and_the_database(db, config, clock):
    """Visits and overrides in the database (counters moved by its triggers); every wish
    (days, after, before, exact, add-ons, deep pages) pages as before, in a client step
    (the cache) and outside one (the database)."""
    rng = random.Random(5)
    now = clock.now()
    visits, changes = calendar(config, rng, now, 40)
    for master, spans in visits.items():
        for start, end in spans:
            status = AppointmentStatus.CONFIRMED
            await Appointment.create(
                service_id="manicure",
                master_id=master,
                start=start,
                end=end,
                price_kop=100,
                status=status,
                created_at=now,
            )
    for master, moved in changes.items():
        for change in moved:
            kind = OverrideKind.EXTRA_SHIFT if change.adds else OverrideKind.BLOCK
            await ScheduleOverride.create(
                master_id=master,
                kind=kind,
                start=change.start,
                end=change.end,
                created_by=1,
                created_at=now,
            )
    booker, today = Booker(config, clock), now.astimezone(config.tz).date()
    checked = 0
    for _ in range(40):
        service = rng.choice(config.services)
        addons = [a.id for a in service.addons if rng.random() < 0.5]
        first = today + dt.timedelta(days=rng.choice((-1, 0, 1, 3, 40)))
        wish = (
            service.id,
            addons,
            first,
            first + dt.timedelta(days=rng.choice((0, 2, 6))),
            rng.choice((None, dt.time(12), dt.time(15, 30))),
            rng.choice((None, dt.time(18), dt.time(11))),
            rng.choice((None, None, dt.time(14, 10))),
            rng.choice((0, 6, 12, 60)),
            6,
        )
        want = await old_find(booker, *wish)
        assert await booker.find(*wish) == want  # the database
        with versions.snapshot(await versions.read()):
            assert await booker.find(*wish) == want  # the cache, cold then warm
            assert await booker.find(*wish) == want
        checked += bool(want.slots)
        clock.advance(minutes=rng.randrange(0, 200))
    assert checked > 20
