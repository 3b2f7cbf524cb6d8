"""The incremental reminder scan: each look reads the visits whose reminder came due since
the previous look (and those booked since), not every upcoming visit; and looking every
few minutes that way queues exactly what looking at everything would."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from bot.booking.reminders import (
    queue_due_reminders,
    reminder_candidates,
    reminder_key,
    reminder_plan,
)
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus, Client, Outbox
from tests.conftest import SAMARA
from tests.test_postgres import pg  # noqa: F401 (fixture)

# Monday 21:45:10 in Samara, as the clock gives it (UTC): quiet hours begin at 22:00
MON_2145 = dt.datetime(2026, 11, 23, 21, 45, 10, tzinfo=SAMARA).astimezone(dt.UTC)


async def visit(start: dt.datetime, booked: dt.datetime, chat: int) -> Appointment:
    client = await Client.create(
        channel="telegram", channel_user_id=str(chat), name=f"Клиент {chat}", created_at=booked
    )
    return await Appointment.create(
        client=client,
        service_id="manicure",
        master_id="anna",
        start=start,
        end=start + dt.timedelta(hours=1),
        price_kop=150000,
        status=AppointmentStatus.CONFIRMED,
        created_at=booked,
    )


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SAMARA).astimezone(dt.UTC)


async def test_an_incremental_scan_reads_only_what_came_due(db, config: BusinessConfig):
    now, since = MON_2145, MON_2145 - dt.timedelta(seconds=30)
    long_ago = now - dt.timedelta(days=7)
    day = dt.timedelta(hours=24)
    came_due = await visit(now + day - dt.timedelta(seconds=10), long_ago, 1)  # 24 h: 21:45:00
    not_yet = await visit(now + day + dt.timedelta(minutes=10), long_ago, 2)
    due_before = await visit(now + day - dt.timedelta(hours=1), long_ago, 3)  # 24 h: 20:45
    booked_now = await visit(now + dt.timedelta(hours=20), now - dt.timedelta(seconds=1), 4)
    # 2 h before 10:00 and 05:00 tomorrow is in quiet hours: sent this evening at 21:45
    quiet_tonight = await visit(local(24, 10), long_ago, 5)
    early_tonight = await visit(local(24, 5), long_ago, 6)
    quiet_tomorrow = await visit(local(25, 10), long_ago, 7)  # tomorrow evening's

    incremental = {a.id for a in await reminder_candidates(config, now, since)}
    full = {a.id for a in await reminder_candidates(config, now)}

    assert incremental == {came_due.id, booked_now.id, quiet_tonight.id, early_tonight.id}
    assert full == {came_due.id, due_before.id, booked_now.id, quiet_tonight.id, early_tonight.id}
    assert not_yet.id not in full and quiet_tomorrow.id not in full


@pytest.fixture(params=["db", "pg"])
def database(request):
    """The test's database: SQLite, then PostgreSQL."""
    return request.getfixturevalue(request.param)


async def test_scanning_every_few_minutes_queues_what_a_full_scan_would(
    database, config: BusinessConfig, clock: FakeClock
):
    """Two days of 10-minute looks, visits booked along the way (some too late for a
    reminder, some into quiet hours, some committed a look after their `created_at`): each
    reminder is queued at the first look after its send time that sees its visit booked
    and still ahead, and no other is. On SQLite and PostgreSQL (the range queries, and
    the batched INSERT that skips a dedup key queued already)."""
    rng = random.Random(16)
    step = dt.timedelta(minutes=10)
    steps = [clock.now() + i * step for i in range(2 * 24 * 6)]
    bookings = []  # (inserted at, booked at, start)
    for _ in range(150):
        booked = clock.now() + dt.timedelta(minutes=rng.randrange(-3 * 24 * 60, 40 * 60))
        start = booked + dt.timedelta(minutes=5 * rng.randrange(6, 12 * 60))
        bookings.append((next(s for s in steps if s >= booked), booked, start))
    for k in range(10, 200, 20):  # committed late: 2 min before a look, seen by the next
        booked = steps[k] - dt.timedelta(minutes=2)
        bookings.append((steps[k + 1], booked, booked + dt.timedelta(hours=24, minutes=1)))
    bookings.sort(key=lambda b: b[0])

    inserted: dict[int, dt.datetime] = {}
    previous = None
    for now in steps:
        clock.set(now)
        while bookings and bookings[0][0] <= now:
            _, booked, start = bookings.pop(0)
            inserted[(await visit(start, booked, 1000 + len(inserted))).id] = now
        await queue_due_reminders(config, Texts("ru"), now, since=previous)
        previous = now

    expected = {}
    for appointment in await Appointment.all():
        for hours, when in reminder_plan(config, appointment.start, appointment.created_at):
            look = next((s for s in steps if s >= max(when, inserted[appointment.id])), None)
            if look is not None and look < appointment.start:
                expected[reminder_key(appointment, hours)] = look
    queued = dict(await Outbox.filter(kind="reminder").values_list("dedup_key", "created_at"))
    assert len(expected) > 100  # the schedule above is not vacuous
    assert queued == expected
