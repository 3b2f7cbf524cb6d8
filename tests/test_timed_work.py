"""Reminders, the SLA watchdog and follow-ups on a moved clock (no sleeping)."""

from __future__ import annotations

import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

import pytest

from bot.booking.reminders import queue_due_reminders, reminder_plan
from bot.config import parse_config
from bot.delivery.outbox import claim, deliver
from bot.dialogs import DialogService
from bot.models import Appointment, Lead, Outbox, OutboxStatus, SlaBreach
from bot.staffwork.sla import check_sla
from bot.staffwork.worktime import add_working_minutes
from scenarios.types import Input, InputKind
from tests.conftest import ROOT
from tests.timed_helpers import Recorder
from workers.timed import TimedWork

SAMARA, OMSK = ZoneInfo("Europe/Samara"), ZoneInfo("Asia/Omsk")
OWNER = 9001


def config_with(**changes: dict) -> object:
    data = tomllib.loads((ROOT / "examples" / "salon.toml").read_text("utf-8"))
    for section, values in changes.items():
        data.setdefault(section, {}).update(values)
    return parse_config(data)


def at(tz, *parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=tz).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("offsets", "tz", "visit", "booked", "expected"),
    [
        # the default 24 h + 2 h, both in the day
        (
            [24, 2],
            SAMARA,
            (2026, 11, 25, 15, 0),
            (2026, 11, 20, 12, 0),
            [(24, (2026, 11, 24, 15, 0)), (2, (2026, 11, 25, 13, 0))],
        ),
        # 2 h before a 10:00 visit is 08:00, in quiet hours: 21:45 the evening before
        (
            [24, 2],
            SAMARA,
            (2026, 11, 25, 10, 0),
            (2026, 11, 20, 12, 0),
            [(24, (2026, 11, 24, 10, 0)), (2, (2026, 11, 24, 21, 45))],
        ),
        # 24 h before 09:30 is 09:30 (allowed), 2 h before is 07:30 → 21:45 the evening before
        (
            [24, 2],
            OMSK,
            (2026, 11, 25, 9, 30),
            (2026, 11, 20, 12, 0),
            [(24, (2026, 11, 24, 9, 30)), (2, (2026, 11, 24, 21, 45))],
        ),
        # booked 3 h before: only the 2 h reminder
        (
            [24, 2],
            SAMARA,
            (2026, 11, 25, 15, 0),
            (2026, 11, 25, 12, 0),
            [(2, (2026, 11, 25, 13, 0))],
        ),
        # booked after both: none
        ([24, 2], SAMARA, (2026, 11, 25, 15, 0), (2026, 11, 25, 14, 0), []),
        # 48 h and 12 h; 12 h before 20:00 is 08:00 → 21:45 two evenings... the one before
        (
            [48, 12],
            SAMARA,
            (2026, 11, 27, 20, 0),
            (2026, 11, 20, 12, 0),
            [(48, (2026, 11, 25, 20, 0)), (12, (2026, 11, 26, 21, 45))],
        ),
        # 48 h only; 23:30 two days before moves to 21:45 that evening
        (
            [48],
            SAMARA,
            (2026, 11, 27, 23, 30),
            (2026, 11, 20, 12, 0),
            [(48, (2026, 11, 25, 21, 45))],
        ),
    ],
)
def test_reminder_schedule(offsets, tz, visit, booked, expected):
    config = config_with(reminders={"offsets_hours": offsets}, business={"timezone": str(tz)})
    plan = reminder_plan(config, at(tz, *visit), at(tz, *booked))
    assert plan == [(hours, at(tz, *when)) for hours, when in expected]


@pytest.mark.parametrize(
    ("arrival", "minutes", "due"),
    [
        ((2026, 11, 23, 10, 0), 15, (2026, 11, 23, 10, 15)),  # a working Monday morning
        ((2026, 11, 23, 20, 55), 15, (2026, 11, 24, 10, 10)),  # 5 min today, 10 tomorrow
        ((2026, 11, 27, 22, 0), 15, (2026, 11, 28, 10, 15)),  # Friday night → Saturday
        ((2026, 11, 28, 20, 30), 30, (2026, 11, 30, 10, 30)),  # Sunday closed (below)
        ((2026, 12, 30, 23, 0), 15, (2027, 1, 4, 10, 15)),  # days off 31.12–2.01, then Sunday
    ],
)
def test_working_time_clock(arrival, minutes, due):
    config = config_with(hours={"sun": "off"})
    assert add_working_minutes(config, at(SAMARA, *arrival), minutes) == at(SAMARA, *due)


async def book(dialogs, chat: str) -> Appointment:
    for step in (
        Input.command("start"),
        Input.button("consent:yes"),
        Input.button("svc:brows"),
        Input.button("addon:none"),
        Input.button("when:tomorrow"),
    ):
        replies = await dialogs.handle("telegram", chat, step)
    for step in (
        Input.button(replies[-1].buttons[0][0].action),
        Input(InputKind.TEXT, "+7 927 000 00 01"),
        Input(InputKind.TEXT, "Ольга"),
        Input.button("confirm"),
    ):
        replies = await dialogs.handle("telegram", chat, step)
    return await Appointment.filter(client__channel_user_id=chat).order_by("-id").first()


async def test_a_due_reminder_is_queued_once_and_a_stale_one_skipped(db, config, clock):
    dialogs = DialogService(config, clock, owner_ids=frozenset({OWNER}))
    appointment = await book(dialogs, "501")  # Tuesday 10:00 with Olga
    clock.set(appointment.start - dt.timedelta(hours=24))
    assert await queue_due_reminders(config, dialogs.texts, clock.now()) == 1
    assert await queue_due_reminders(config, dialogs.texts, clock.now()) == 0
    row = await Outbox.get(kind="reminder")
    assert row.chat_id == "501"
    actions = [b[1] for line in row.payload["buttons"] for b in line]
    assert actions == [
        f"rconfirm:{appointment.id}",
        f"rmove:{appointment.id}",
        f"cancel:{appointment.id}",
    ]

    claimed = await claim(row.id, clock.now())  # a sender has it in hand…
    await dialogs.handle("telegram", "501", Input.button(f"cancel:{appointment.id}"))
    recorder = Recorder()
    assert await deliver(recorder, claimed, clock) is False  # …and the visit was cancelled
    assert recorder.sent == []
    assert (await Outbox.get(id=row.id)).status == OutboxStatus.SKIPPED
    assert await Outbox.filter(kind="notice").exists()  # staff are told of the cancellation


async def test_confirming_from_the_reminder(dialogs, config, clock):
    appointment = await book(dialogs, "502")
    replies = await dialogs.handle("telegram", "502", Input.button(f"rconfirm:{appointment.id}"))
    assert "ждём вас" in replies[0].text
    await appointment.refresh_from_db()
    assert appointment.client_confirmed_at == clock.now()


async def test_sla_breaches_are_recorded_once_on_working_time(dialogs, config, clock):
    clock.set(at(SAMARA, 2026, 11, 23, 20, 55))  # Monday, 5 minutes before closing
    await dialogs.handle("telegram", "503", Input.command("start"))
    await dialogs.handle("telegram", "503", Input.button("consent:yes"))
    await dialogs.handle("telegram", "503", Input.command("human"))
    owners = frozenset({OWNER})
    clock.set(at(SAMARA, 2026, 11, 23, 20, 56))
    assert await check_sla(config, dialogs.texts, owners, clock.now()) == 0
    clock.set(at(SAMARA, 2026, 11, 24, 9, 59))  # the night does not count…
    assert await check_sla(config, dialogs.texts, owners, clock.now()) == 1  # …2 min did
    clock.set(at(SAMARA, 2026, 11, 24, 10, 9))
    assert await check_sla(config, dialogs.texts, owners, clock.now()) == 0
    clock.set(at(SAMARA, 2026, 11, 24, 10, 10))  # 5 + 10 working minutes: claim is due
    assert await check_sla(config, dialogs.texts, owners, clock.now()) == 1
    assert await check_sla(config, dialogs.texts, owners, clock.now()) == 0
    clock.set(at(SAMARA, 2026, 11, 24, 10, 25))
    assert await check_sla(config, dialogs.texts, owners, clock.now()) == 1  # the owner
    breaches = await SlaBreach.all().values_list("kind", flat=True)
    assert sorted(breaches) == ["claim", "human_reply", "owner"]
    assert await Outbox.filter(kind="sla", chat_id=str(OWNER)).count() == 3


async def test_a_stalled_client_gets_one_nudge(dialogs, config, clock):
    await dialogs.handle("telegram", "504", Input.command("start"))
    await dialogs.handle("telegram", "504", Input.button("consent:yes"))
    await dialogs.handle("telegram", "504", Input.button("svc:manicure"))
    work = TimedWork(config, dialogs.texts, clock, frozenset({OWNER}))
    clock.advance(minutes=30)
    assert (await work.run())["nudges"] == 0  # 09:30: the salon opens at 10:00
    clock.set(at(SAMARA, 2026, 11, 23, 11, 0))  # one working hour after opening
    assert (await work.run())["nudges"] == 1
    assert (await work.run())["nudges"] == 0
    lead = await Lead.get()
    assert lead.needs_human and lead.handoff_reason == "stalled"
    replies = await dialogs.handle("telegram", "504", Input.button("resume"))
    assert "Добавить к услуге" in replies[0].text
