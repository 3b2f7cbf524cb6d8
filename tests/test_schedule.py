"""Overrides of masters' time: the slot engine reads them, staff set them in the staff bot
(validated, role-checked, audited, undoable), and they never silently overlap a booking."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.booking.booker import Booker
from bot.booking.schedule import (
    Change,
    EndsBeforeStart,
    InPast,
    NotYourTime,
    OffGrid,
    add_override,
    undo_override,
)
from bot.booking.slots import Slot
from bot.models import Appointment, StaffRole
from bot.schedule_models import OverrideKind, ScheduleAudit, ScheduleOverride
from tests import staff_fixtures
from tests.conftest import SAMARA
from tests.staff_fixtures import ANNA, MASHA, Desk, add_staff

desk = staff_fixtures.desk  # the fixture
open_desk = staff_fixtures.open_desk
TUE = dt.date(2026, 11, 24)


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=SAMARA).astimezone(dt.UTC)


async def anna_starts(config, clock, day: dt.date) -> list[dt.datetime]:
    booker = Booker(config, clock)
    page = await booker.find("manicure", [], day, day, None, None, None, 0, 100)
    return [s.start for s in page.slots if s.master_id == "anna" and page.matches_wish]


async def test_block_shift_and_undo_change_the_slots(db, config, clock):
    before = await anna_starts(config, clock, TUE)
    assert at(TUE, 13) in before
    lunch = Change("anna", OverrideKind.BLOCK, at(TUE, 13), at(TUE, 14), "обед")
    row, displaced = await add_override(
        config, lunch, MASHA.id, StaffRole.MANAGER, None, clock.now()
    )
    assert displaced == []
    after = await anna_starts(config, clock, TUE)
    assert not [s for s in after if at(TUE, 12, 1) <= s < at(TUE, 14)]  # 12:30 + 60 min > 13:00
    assert at(TUE, 14) in after and at(TUE, 12) in after

    day_off = dt.date(2026, 11, 30)  # Анна's day off in the TOML: an extra shift opens it
    assert await anna_starts(config, clock, day_off) == []
    shift = Change("anna", OverrideKind.EXTRA_SHIFT, at(day_off, 10), at(day_off, 12))
    await add_override(config, shift, MASHA.id, StaffRole.MANAGER, None, clock.now())
    assert await anna_starts(config, clock, day_off) == [
        at(day_off, 10),
        at(day_off, 10, 30),
        at(day_off, 11),
    ]

    await undo_override(row.id, MASHA.id, StaffRole.MANAGER, None, clock.now(), config=config)
    assert await anna_starts(config, clock, TUE) == before
    audit = (
        await ScheduleAudit.filter(override_id=row.id)
        .order_by("id")
        .values_list("action", "actor", flat=False)
    )
    assert audit == [("add", f"staff:{MASHA.id}"), ("undo", f"staff:{MASHA.id}")]
    undo = await ScheduleAudit.get(override_id=row.id, action="undo")
    assert undo.before["undone_at"] is None and undo.after["undone_at"] is not None


async def test_bad_changes_are_refused_specifically(db, config, clock):
    now = clock.now()
    cases = [
        (Change("anna", OverrideKind.BLOCK, at(TUE, 14), at(TUE, 13)), EndsBeforeStart),
        (Change("anna", OverrideKind.BLOCK, at(TUE, 13, 7), at(TUE, 14)), OffGrid),
        (Change("anna", OverrideKind.BLOCK, now - dt.timedelta(hours=3), now), InPast),
    ]
    for change, refusal in cases:
        with pytest.raises(refusal):
            await add_override(config, change, MASHA.id, StaffRole.MANAGER, None, now)
    anna = await add_staff(ANNA, StaffRole.MASTER, clock, master_id="anna")
    olga_lunch = Change("olga", OverrideKind.BLOCK, at(TUE, 13), at(TUE, 14))
    with pytest.raises(NotYourTime):
        await add_override(config, olga_lunch, ANNA.id, StaffRole.MASTER, anna, now)
    assert await ScheduleOverride.all().count() == 0 and await ScheduleAudit.all().count() == 0


async def test_overrides_racing_client_bookings_never_overlap_silently(db, config, clock):
    """Sixteen rounds of a block and a booking of the same hour at the same moment: either
    the booking lost (the block was seen) or the block lists it as displaced."""
    booker = Booker(config, clock)
    service = config.service("manicure")
    outcomes = set()
    for hour in range(10, 18):
        for minute in (0, 30):
            start = at(TUE, hour, minute)
            slot = Slot(start, start + dt.timedelta(minutes=60), "anna")
            block = Change("anna", OverrideKind.BLOCK, start, start + dt.timedelta(minutes=30))
            booking = asyncio.ensure_future(booker.book(slot, service, [], None, None))
            change = add_override(config, block, MASHA.id, StaffRole.MANAGER, None, clock.now())
            if minute:  # the booking starts first in half the rounds, the block in the other
                booked, (row, displaced) = await booking, await change
            else:
                (row, displaced), booked = await change, await booking
            outcomes.add(booked is not None)
            if booked is not None:
                assert [a.id for a in displaced] == [booked.id]
            now = clock.now()
            await undo_override(row.id, MASHA.id, StaffRole.MANAGER, None, now, config=config)
            await Appointment.all().delete()
    assert outcomes == {True, False}  # both orders happened


async def test_staff_change_time_in_the_bot(desk: Desk, clock):
    """A master blocks own lunch, cannot block Ольга's; bad inputs get specific answers;
    undo from /overrides."""
    desk.say(ANNA, "/block завтра 13:00-14:00 обед")
    done = await desk.sees(ANNA, "Готово")
    assert "Анна" in done["text"] and "13:00" in done["text"] and "обед" in done["text"]
    row = await ScheduleOverride.get()
    assert (row.kind, row.created_by, row.reason) == ("block", ANNA.id, "обед")
    assert row.start == at(TUE, 13) and row.end == at(TUE, 14)

    desk.say(ANNA, "/block Ольга завтра 15:00-16:00")
    await desk.sees(ANNA, "только своё расписание")
    desk.say(ANNA, "/block вчера")
    await desk.sees(ANNA, "Не хватает времени")
    desk.say(ANNA, "/block 20.11 13:00-14:00")
    await desk.sees(ANNA, "уже прошло")
    desk.say(ANNA, "/vacation 14.12-01.12")
    await desk.sees(ANNA, "Конец раньше начала")
    desk.say(ANNA, "/block завтра 13:03-14:00")
    await desk.sees(ANNA, "кратно 5 минутам")
    desk.say(MASHA, "/block завтра 15:00-16:00")
    await desk.sees(MASHA, "Укажите мастера")
    desk.say(MASHA, "/shift Ольга 30.11 10:00-12:00")
    await desk.sees(MASHA, "доп. смена")
    assert await ScheduleOverride.all().count() == 2

    desk.say(ANNA, "/overrides")
    listed = await desk.sees(ANNA, "№1 закрыто")
    assert "Ольга" not in "".join(desk.texts_to(ANNA))  # a master sees only her own
    desk.tap(ANNA, "↩ Отменить №1", listed)
    await desk.sees(ANNA, "Отменено")
    assert (await ScheduleOverride.get(id=1)).undone_by == ANNA.id
    assert await ScheduleAudit.filter(action="undo").count() == 1


# --- the same on PostgreSQL (migration 6 in its dialect) --------------------------------

from tests.test_postgres import pg  # noqa: E402  (the fixture: a migrated schema)

__all__ = ["pg"]


async def test_postgres_overrides_and_slots(pg, config, clock):
    await test_block_shift_and_undo_change_the_slots(pg, config, clock)


async def test_postgres_overrides_racing_bookings(pg, config, clock):
    await test_overrides_racing_client_bookings_never_overlap_silently(pg, config, clock)


class _BlockWhileBooking(Booker):
    """A Booker whose first read of the overrides is followed, before its insert, by a
    manager's block of that very hour: the interleaving a lock-free race can produce."""

    def __init__(self, config, clock, block: Change) -> None:
        super().__init__(config, clock)
        self.block, self.displaced = block, None

    async def changes(self, master_ids, since):
        found = await super().changes(master_ids, since)
        if self.displaced is None:
            now = self.clock.now()
            _, self.displaced = await add_override(
                self.config, self.block, MASHA.id, StaffRole.MANAGER, None, now
            )
        return found


async def test_a_block_between_the_check_and_the_insert_wins(db, config, clock):
    """The block committed after the booking's check and saw no visit: the booking sees the
    block after its own commit and gives the slot up (the client gets other slots)."""
    start = at(TUE, 13)
    block = Change("anna", OverrideKind.BLOCK, start, start + dt.timedelta(minutes=60))
    booker = _BlockWhileBooking(config, clock, block)
    slot = Slot(start, start + dt.timedelta(minutes=60), "anna")
    assert await booker.book(slot, config.service("manicure"), [], None, None) is None
    assert booker.displaced == []
    assert await Appointment.all().count() == 0
