"""Live bonus progress: each booking that starts counting for pay brings its manager a note
of where they stand against the month's plan, by /payroll's own functions.

Маша's plan (tests/money_data.py): 3 bookings, 1 000 ₽ per booking above it. A booking
counts as in /payroll: not cancelled, confirmed by the client or visited.
"""

from __future__ import annotations

import datetime as dt

from bot.clock import FakeClock
from bot.coach.bonus import plural
from bot.i18n import Texts
from bot.models import Appointment, Outbox
from bot.numbers.kpi import Period
from bot.numbers.payroll import payslips
from tests.coach_data import add_managers
from tests.money_data import MASHA_ID, PETYA_ID, add_lead, add_visit, local, money_config
from workers.timed import TimedWork

T = Texts("ru")


async def _confirm(visit: Appointment, at: dt.datetime) -> None:
    await Appointment.filter(id=visit.id).update(client_confirmed_at=at)


async def _notes(config, clock) -> list[Outbox]:
    await TimedWork(config, T, clock, frozenset({9001})).run()
    return await Outbox.filter(kind="coach_bonus").order_by("id")


async def test_progress_after_each_counted_booking_matches_payroll(db):
    await add_managers()
    config = money_config()
    clock = FakeClock(local(11, 23, 12))
    masha = await add_lead(local(11, 1), MASHA_ID)
    await add_visit(masha, local(11, 5), "came", 2000)  # counted long ago: no note now
    first = await add_visit(masha, local(11, 25), "confirmed")
    second = await add_visit(masha, local(11, 26), "confirmed")
    third = await add_visit(masha, local(11, 27), "confirmed")
    assert await _notes(config, clock) == []

    await _confirm(first, clock.now())
    [note] = await _notes(config, clock)
    assert note.chat_id == str(MASHA_ID) and note.dedup_key == f"bonus:{first.id}"
    assert "Записей: 2 из 3" in note.payload["text"]
    assert "До бонуса: 1 запись" in note.payload["text"]

    clock.advance(minutes=5)
    await _confirm(second, clock.now())
    assert (
        "План выполнен! Каждая следующая запись — +1 000 ₽"
        in (await _notes(config, clock))[-1].payload["text"]
    )

    clock.advance(minutes=5)
    await _confirm(third, clock.now())
    notes = await _notes(config, clock)
    assert len(notes) == 3  # one note per booking, however many scans
    assert "Сверх плана: +1 × 1 000 ₽ = 1 000 ₽" in notes[-1].payload["text"]
    [slip] = await payslips(list(config.payroll[:1]), Period.month(config, 2026, 11))
    assert (slip.bookings, slip.extra_bookings, slip.bonus_kop) == (4, 1, 100000)


async def test_no_note_for_a_cancelled_booking_or_a_manager_without_a_plan(db):
    await add_managers()
    config = money_config()
    clock = FakeClock(local(11, 23, 12))
    petya = await add_lead(local(11, 1), PETYA_ID)
    nobody = await add_lead(local(11, 1), 7999)  # a manager with no pay plan
    await add_visit(petya, local(11, 25), "cancelled", confirmed=True)
    await _confirm(await add_visit(nobody, local(11, 25), "confirmed"), clock.now())
    assert await _notes(config, clock) == []


def test_russian_plural_forms():
    words = [plural(T, "coach.bookings_forms", n) for n in (1, 2, 5, 11, 21, 22, 25, 112)]
    assert words == [
        "1 запись",
        "2 записи",
        "5 записей",
        "11 записей",
        "21 запись",
        "22 записи",
        "25 записей",
        "112 записей",
    ]
    assert plural(Texts("en"), "coach.bookings_forms", 21) == "21 bookings"


async def test_no_note_once_the_manager_left_the_team(db):
    await add_managers(active=False)
    clock = FakeClock(local(11, 23, 12))
    masha = await add_lead(local(11, 1), MASHA_ID)
    await _confirm(await add_visit(masha, local(11, 25), "confirmed"), clock.now())
    assert await _notes(money_config(), clock) == []
