"""Visit reminders: the schedule as a table, then queuing, moving, cancelling and confirming
against the database through `DialogService`, with a moved clock and a recording sender."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.booking.booker import Booker
from bot.booking.reminders import queue_due_reminders, reminder_plan, shift_out_of_quiet_hours
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.delivery.outbox import claim, deliver, deliver_due
from bot.dialogs import DialogService
from bot.models import (
    Appointment,
    AppointmentStatus,
    Lead,
    LeadStatus,
    MasterCell,
    Outbox,
    OutboxStatus,
)
from bot.staffwork.lead_actions import LeadActions
from scenarios.keyboards import parse_slot_action
from tests.test_booking_flow import Chat, actions, book, text
from tests.timed_helpers import OMSK, OWNER, SAMARA, Recorder, at, config_with, row_actions

# --- the schedule as a table -----------------------------------------------------------------

EARLY = (2026, 11, 16, 12, 0)  # booked long before every reminder

PLANS = [
    # (offsets, visit (local), booked (local), [(hours, sent at (local)), …])
    pytest.param(
        [24, 2],
        (2026, 11, 25, 15, 0),
        EARLY,
        [(24, (2026, 11, 24, 15, 0)), (2, (2026, 11, 25, 13, 0))],
        id="default-24h-2h",
    ),
    pytest.param([48], (2026, 11, 25, 15, 0), EARLY, [(48, (2026, 11, 23, 15, 0))], id="48h"),
    pytest.param(
        [48, 12],
        (2026, 11, 27, 20, 0),
        EARLY,
        [(48, (2026, 11, 25, 20, 0)), (12, (2026, 11, 26, 21, 45))],  # 12 h → 08:00 → evening
        id="48h-12h",
    ),
    pytest.param(
        [24, 2],
        (2026, 11, 25, 15, 0),
        (2026, 11, 25, 12, 0),
        [(2, (2026, 11, 25, 13, 0))],
        id="booked-3h-before-only-2h",
    ),
    pytest.param(
        [24, 2], (2026, 11, 25, 15, 0), (2026, 11, 25, 13, 30), [], id="booked-after-both"
    ),
    pytest.param(
        [24, 2],
        (2026, 11, 25, 15, 0),
        (2026, 11, 24, 15, 0),
        [(24, (2026, 11, 24, 15, 0)), (2, (2026, 11, 25, 13, 0))],
        id="booked-exactly-at-24h",
    ),
    pytest.param(
        [24, 2],
        (2026, 11, 25, 10, 0),
        EARLY,
        [(24, (2026, 11, 24, 10, 0)), (2, (2026, 11, 24, 21, 45))],  # 2 h → 08:00: quiet
        id="2h-for-10:00-goes-21:45-the-evening-before",
    ),
    pytest.param(
        [24, 2],
        (2026, 11, 25, 9, 30),
        EARLY,
        [(24, (2026, 11, 24, 9, 30)), (2, (2026, 11, 24, 21, 45))],  # 09:30 is not quiet
        id="24h-for-09:30-stays-at-09:30",
    ),
    pytest.param(
        [24, 2],
        (2026, 11, 25, 8, 30),
        EARLY,
        [(24, (2026, 11, 23, 21, 45)), (2, (2026, 11, 24, 21, 45))],  # 24 h → 08:30: quiet
        id="24h-for-08:30-goes-21:45-two-evenings-before",
    ),
    pytest.param(
        [24, 2],
        (2026, 11, 25, 23, 30),
        EARLY,
        [(24, (2026, 11, 24, 21, 45)), (2, (2026, 11, 25, 21, 30))],  # 24 h → 23:30: quiet
        id="24h-at-23:30-goes-21:45-that-evening",
    ),
    pytest.param(
        [24, 2],
        (2026, 11, 25, 0, 30),
        EARLY,
        [(24, (2026, 11, 23, 21, 45)), (2, (2026, 11, 24, 21, 45))],  # after midnight
        id="visit-at-00:30",
    ),
]


@pytest.mark.parametrize("tz", [SAMARA, OMSK], ids=["Samara", "Omsk"])
@pytest.mark.parametrize(("offsets", "visit", "booked", "expected"), PLANS)
def test_reminder_plan(tz, offsets, visit, booked, expected):
    config = config_with(reminders={"offsets_hours": offsets}, business={"timezone": tz.key})
    plan = reminder_plan(config, at(tz, *visit), at(tz, *booked))
    assert plan == [(hours, at(tz, *when)) for hours, when in expected]


def test_the_same_local_plan_is_a_different_utc_moment_in_omsk():
    samara = config_with(business={"timezone": SAMARA.key})
    omsk = config_with(business={"timezone": OMSK.key})
    visit = (2026, 11, 25, 10, 0)
    (_, samara_2h), (_, omsk_2h) = (
        reminder_plan(c, at(tz, *visit), at(tz, *EARLY))[-1]
        for c, tz in ((samara, SAMARA), (omsk, OMSK))
    )
    assert samara_2h - omsk_2h == dt.timedelta(hours=2)  # Omsk is UTC+6, Samara UTC+4
    assert omsk_2h == dt.datetime(2026, 11, 24, 15, 45, tzinfo=dt.UTC)


@pytest.mark.parametrize("tz", [SAMARA, OMSK], ids=["Samara", "Omsk"])
@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ((2026, 11, 24, 21, 44), (2026, 11, 24, 21, 44)),
        ((2026, 11, 24, 21, 59), (2026, 11, 24, 21, 59)),
        ((2026, 11, 24, 22, 0), (2026, 11, 24, 21, 45)),
        ((2026, 11, 24, 23, 59), (2026, 11, 24, 21, 45)),
        ((2026, 11, 25, 0, 0), (2026, 11, 24, 21, 45)),
        ((2026, 11, 25, 8, 59), (2026, 11, 24, 21, 45)),
        ((2026, 11, 25, 9, 0), (2026, 11, 25, 9, 0)),
    ],
)
def test_shift_out_of_default_quiet_hours(tz, moment, expected):
    config = config_with(business={"timezone": tz.key})
    assert shift_out_of_quiet_hours(config, at(tz, *moment)) == at(tz, *expected)


@pytest.mark.parametrize(
    ("quiet", "moment", "expected"),
    [
        (("23:00", "08:00"), (2026, 11, 25, 8, 0), (2026, 11, 25, 8, 0)),  # no longer quiet
        (("23:00", "08:00"), (2026, 11, 25, 7, 0), (2026, 11, 24, 22, 45)),
        (("13:00", "15:00"), (2026, 11, 25, 14, 0), (2026, 11, 25, 12, 45)),  # a daytime window
        (("13:00", "15:00"), (2026, 11, 25, 22, 30), (2026, 11, 25, 22, 30)),
    ],
)
def test_shift_out_of_configured_quiet_hours(quiet, moment, expected):
    config = config_with(reminders={"quiet_start": quiet[0], "quiet_end": quiet[1]})
    assert shift_out_of_quiet_hours(config, at(SAMARA, *moment)) == at(SAMARA, *expected)


# --- against the database --------------------------------------------------------------------

# `book` (tests.test_booking_flow) books Anna's manicure on Tuesday 24.11 at 10:00, Samara.
# At Monday 09:00 the 24 h reminder is due Monday 10:00; the 2 h one (Tuesday 08:00, quiet)
# Monday 21:45.
MON_10 = at(SAMARA, 2026, 11, 23, 10, 0)
MON_2145 = at(SAMARA, 2026, 11, 23, 21, 45)


@pytest.fixture
def desk(db, config: BusinessConfig, clock: FakeClock) -> DialogService:
    return DialogService(config, clock, owner_ids=frozenset({OWNER}))


@pytest.fixture
def olga(desk: DialogService) -> Chat:
    return Chat(desk, 501, "Ольга")


async def booked(chat: Chat) -> Appointment:
    """A fresh pre-booking; the staff alert about it already delivered."""
    await book(chat)
    assert await deliver_due(Recorder(), chat.dialogs.clock) == 1
    return await Appointment.filter(client_id=(await chat.client()).id).order_by("-id").first()


async def queue_at(desk: DialogService, clock: FakeClock, moment: dt.datetime) -> int:
    clock.set(moment)
    return await queue_due_reminders(desk.config, desk.texts, clock.now())


async def reminders_of(appointment: Appointment) -> list[Outbox]:
    return await Outbox.filter(kind="reminder", appointment_id=appointment.id).order_by("id")


async def move(chat: Chat, appointment: Appointment) -> Appointment:
    """«Перенести» from the reminder: tomorrow's first slot at another time, confirmed."""
    replies = await chat.press(f"rmove:{appointment.id}")
    assert "Когда вам удобно" in text(replies)
    replies = await chat.press("when:tomorrow")
    slot = next(
        a
        for a in actions(replies)
        if a.startswith("slot:") and parse_slot_action(a)[1] != appointment.start
    )
    replies = await chat.press(slot)
    assert "Проверьте" in text(replies)  # phone and name are remembered
    replies = await chat.press("confirm")
    assert "перенесена" in text(replies)
    return await Appointment.filter(client_id=appointment.client_id).order_by("-id").first()


async def test_a_due_reminder_is_queued_once_in_the_clients_chat(desk, olga, clock):
    appointment = await booked(olga)
    assert await queue_at(desk, clock, MON_10 - dt.timedelta(seconds=1)) == 0
    assert await queue_at(desk, clock, MON_10) == 1
    assert await queue_at(desk, clock, MON_10) == 0  # a second tick
    assert await queue_at(desk, clock, MON_2145 - dt.timedelta(minutes=1)) == 0
    assert await queue_at(desk, clock, MON_2145) == 1  # the 2 h one, moved to the evening
    assert await queue_at(desk, clock, MON_2145 + dt.timedelta(minutes=5)) == 0

    rows = await reminders_of(appointment)
    assert [r.due_at for r in rows] == [MON_10, MON_2145]
    for row in rows:
        assert (row.bot, row.chat_id, row.lead_id) == ("client", "501", appointment.lead_id)
        assert row.valid_start == appointment.start
        assert "напоминаем о визите" in row.payload["text"]
        assert row_actions(row) == [
            f"rconfirm:{appointment.id}",
            f"rmove:{appointment.id}",
            f"cancel:{appointment.id}",
        ]
        assert [label for line in row.payload["buttons"] for label, _ in line] == [
            "✅ Подтверждаю",
            "Перенести",
            "Отменить",
        ]


async def test_a_moved_visit_is_reminded_of_its_new_time_only(desk, olga, clock):
    old = await booked(olga)
    await queue_at(desk, clock, MON_10)
    (stale,) = await reminders_of(old)  # queued, not sent yet
    new = await move(olga, old)
    assert new.id != old.id and new.start != old.start

    recorder = Recorder()
    assert await deliver_due(recorder, clock) == 1
    assert recorder.kinds == ["notice"]  # the staff notice of the move, never the stale reminder
    assert (await Outbox.get(id=stale.id)).status == OutboxStatus.SKIPPED

    due_24h = new.start - dt.timedelta(hours=24)
    assert await queue_at(desk, clock, due_24h - dt.timedelta(seconds=1)) == 0
    assert await queue_at(desk, clock, due_24h) == 1
    assert await queue_at(desk, clock, new.start - dt.timedelta(hours=2)) == 1
    assert [r.valid_start for r in await reminders_of(new)] == [new.start, new.start]
    assert len(await reminders_of(old)) == 1  # nothing more for the old time

    assert await deliver_due(recorder, clock) == 2
    assert [r.appointment_id for r in recorder.sent if r.kind == "reminder"] == [new.id, new.id]


async def test_a_cancelled_visit_frees_the_slot_tells_staff_and_skips_its_reminder(
    desk, olga, clock
):
    appointment = await booked(olga)
    await queue_at(desk, clock, MON_10)
    replies = await olga.press(f"cancel:{appointment.id}")
    assert "Запись отменена" in text(replies)

    await appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert not await MasterCell.filter(appointment_id=appointment.id).exists()
    notice = await Outbox.get(kind="notice")
    assert (notice.bot, notice.chat_id) == ("staff", str(OWNER))
    assert "отменил запись" in notice.payload["text"]

    recorder = Recorder()
    assert await deliver_due(recorder, clock) == 1
    assert recorder.kinds == ["notice"]
    (reminder,) = await reminders_of(appointment)
    assert reminder.status == OutboxStatus.SKIPPED
    assert await queue_at(desk, clock, MON_2145) == 0  # no 2 h reminder either


async def test_cancel_racing_a_claimed_reminder_skips_it(desk, olga, clock):
    appointment = await booked(olga)
    await queue_at(desk, clock, MON_10)
    (row,) = await reminders_of(appointment)
    claimed = await claim(row.id, clock.now())  # a sender has the row in hand…
    assert claimed is not None
    await olga.press(f"cancel:{appointment.id}")  # …when the client cancels
    recorder = Recorder()
    assert await deliver(recorder, claimed, clock) is False
    assert recorder.sent == []
    row = await Outbox.get(id=row.id)
    assert row.status == OutboxStatus.SKIPPED and row.sent_at is None


async def test_confirming_from_the_reminder_marks_the_visit(desk, olga, clock):
    appointment = await booked(olga)
    clock.set(MON_10)
    replies = await olga.press(f"rconfirm:{appointment.id}")
    assert "Спасибо, ждём вас" in text(replies)
    clock.advance(minutes=5)
    await olga.press(f"rconfirm:{appointment.id}")  # a second press keeps the first time
    await appointment.refresh_from_db()
    assert appointment.client_confirmed_at == MON_10
    assert appointment.status == AppointmentStatus.PENDING  # staff still confirm the booking


async def test_a_visit_moved_by_the_client_keeps_its_confirmed_status_and_lead(desk, olga, clock):
    old = await booked(olga)
    staff = LeadActions(desk.config, desk.texts, Booker(desk.config, clock), desk.owner_ids)
    assert await staff.confirm(old.id, OWNER, clock.now()) is not None
    clock.set(MON_10)
    new = await move(olga, old)

    await old.refresh_from_db()
    assert old.status == AppointmentStatus.CANCELLED
    assert not await MasterCell.filter(appointment_id=old.id).exists()
    assert new.status == AppointmentStatus.CONFIRMED
    assert new.lead_id == old.lead_id
    lead = await Lead.get(id=old.lead_id)
    assert lead.status == LeadStatus.CONFIRMED
    notice = await Outbox.get(kind="notice")
    assert "перенёс запись" in notice.payload["text"]
