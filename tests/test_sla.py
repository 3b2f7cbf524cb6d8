"""The SLA watchdog on the working-time clock: the clock as a table, then `check_sla` on the
database — each breach recorded and told once, to the right people."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.booking.booker import Booker
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.dialogs import DialogService
from bot.models import Appointment, Lead, MessageLog, Outbox, SlaBreach, StaffRole
from bot.staffwork.lead_actions import LeadActions, claim
from bot.staffwork.sla import check_sla
from bot.staffwork.worktime import add_working_minutes, is_working, working_minutes_between
from scenarios.state import Step
from tests import timed_helpers
from tests.staff_fixtures import MASHA, PETYA, add_staff
from tests.test_booking_flow import Chat, book, reach
from tests.timed_helpers import (
    MON_10,
    OMSK,
    OWNER,
    SAMARA,
    at,
    config_with,
)

# --- the working-time clock ------------------------------------------------------------------

SUNDAY_CLOSED = {"hours": {"sun": "off"}}
TUESDAY_OFF = {"top": {"days_off": ["2026-11-24"]}}
# 27.11.2026 is a Friday; the salon works 10–21 on weekdays, 10–20 on Saturday, 11–18 Sunday.
WORKTIME = [
    # (config changes, tz, arrival (local), minutes, due (local))
    pytest.param({}, SAMARA, (2026, 11, 23, 10, 0), 15, (2026, 11, 23, 10, 15), id="working-day"),
    pytest.param({}, SAMARA, (2026, 11, 23, 9, 0), 15, (2026, 11, 23, 10, 15), id="before-open"),
    pytest.param(
        {}, SAMARA, (2026, 11, 23, 20, 55), 15, (2026, 11, 24, 10, 10), id="across-the-night"
    ),
    pytest.param({}, SAMARA, (2026, 11, 27, 22, 0), 15, (2026, 11, 28, 10, 15), id="friday-22:00"),
    pytest.param({}, SAMARA, (2026, 11, 28, 19, 50), 15, (2026, 11, 29, 11, 5), id="sunday-open"),
    pytest.param(
        SUNDAY_CLOSED,
        SAMARA,
        (2026, 11, 28, 19, 50),
        15,
        (2026, 11, 30, 10, 5),
        id="sunday-closed",
    ),
    pytest.param(
        SUNDAY_CLOSED,
        SAMARA,
        (2026, 11, 28, 21, 0),
        30,
        (2026, 11, 30, 10, 30),
        id="saturday-night-to-monday",
    ),
    pytest.param(
        TUESDAY_OFF,
        SAMARA,
        (2026, 11, 23, 20, 55),
        15,
        (2026, 11, 25, 10, 10),
        id="business-day-off",
    ),
    pytest.param(
        {}, SAMARA, (2026, 12, 30, 20, 50), 15, (2027, 1, 3, 11, 5), id="new-year-days-off"
    ),
    pytest.param(
        {"business": {"timezone": OMSK.key}},
        OMSK,
        (2026, 11, 27, 22, 0),
        15,
        (2026, 11, 28, 10, 15),
        id="omsk-friday-22:00",
    ),
    pytest.param({}, SAMARA, (2026, 11, 23, 10, 0), 700, (2026, 11, 24, 10, 40), id="long"),
]

desk, olga = timed_helpers.desk, timed_helpers.olga  # the shared fixtures


def _config(changes: dict) -> BusinessConfig:
    changes = dict(changes)
    return config_with(changes.pop("top", None), **changes)


@pytest.mark.parametrize(("changes", "tz", "arrival", "minutes", "due"), WORKTIME)
def test_add_working_minutes(changes, tz, arrival, minutes, due):
    config = _config(changes)
    assert add_working_minutes(config, at(tz, *arrival), minutes) == at(tz, *due)
    assert working_minutes_between(config, at(tz, *arrival), at(tz, *due)) == minutes


@pytest.mark.parametrize(
    ("changes", "moment", "working"),
    [
        ({}, (2026, 11, 23, 9, 59), False),
        ({}, (2026, 11, 23, 10, 0), True),
        ({}, (2026, 11, 23, 20, 59), True),
        ({}, (2026, 11, 23, 21, 0), False),
        ({}, (2026, 11, 29, 12, 0), True),
        (SUNDAY_CLOSED, (2026, 11, 29, 12, 0), False),
        (TUESDAY_OFF, (2026, 11, 24, 12, 0), False),
    ],
)
def test_is_working(changes, moment, working):
    assert is_working(_config(changes), at(SAMARA, *moment)) is working


# --- check_sla on the database ---------------------------------------------------------------
MANAGERS = [MASHA.id, PETYA.id]


async def add_managers(clock: FakeClock) -> None:
    for user in (MASHA, PETYA):
        await add_staff(user, StaffRole.MANAGER, clock)


async def not_understood(chat: Chat) -> Lead:
    """The bot did not understand the client twice: the lead is handed to a person."""
    await reach(chat, Step.SERVICE)
    await chat.say("абырвалг")
    await chat.say("абырвалг")
    lead = await chat.lead()
    assert lead.needs_human and lead.handoff_reason == "not_understood"
    return lead


async def sla_after(desk: DialogService, minutes: float) -> int:
    """Run the watchdog `minutes` after Monday 10:00."""
    desk.clock.set(MON_10 + dt.timedelta(minutes=minutes))
    return await check_sla(desk.config, desk.texts, desk.owner_ids, desk.clock.now())


async def breaches() -> list[tuple[str, dt.datetime]]:
    return [(b.kind, b.due_at) for b in await SlaBreach.all().order_by("id")]


async def sla_chats(kind: str) -> list[str]:
    rows = await Outbox.filter(kind="sla", dedup_key__contains=f":{kind}:").order_by("id")
    return [r.chat_id for r in rows]


@pytest.mark.parametrize(
    ("with_managers", "claim_to"),
    [(True, MANAGERS), (False, [OWNER])],
    ids=["to-managers", "no-managers-to-owners"],
)
async def test_an_unclaimed_lead_breaches_claim_then_owner_once_each(
    desk, olga, with_managers, claim_to
):
    if with_managers:
        await add_managers(desk.clock)
    lead = await not_understood(olga)
    for minutes, told in [(14, 0), (15, 1), (15, 0), (20, 0), (29, 0), (30, 1), (30, 0), (90, 0)]:
        assert await sla_after(desk, minutes) == told, minutes
    assert await breaches() == [
        ("claim", MON_10 + dt.timedelta(minutes=15)),
        ("owner", MON_10 + dt.timedelta(minutes=30)),
    ]
    assert await sla_chats("claim") == [str(c) for c in claim_to]
    assert await sla_chats("owner") == [str(OWNER)]
    claim_row = await Outbox.filter(kind="sla", dedup_key__contains=":claim:").first()
    assert f"#{lead.id}" in claim_row.payload["text"]
    assert [a for line in claim_row.payload["buttons"] for _, a in line] == [f"claim:{lead.id}"]


async def test_a_claimed_lead_gets_no_claim_breach(desk, olga):
    await add_managers(desk.clock)
    lead = await not_understood(olga)
    await claim(lead.id, MASHA.id, MON_10 + dt.timedelta(minutes=5))
    assert await sla_after(desk, 60) == 0
    assert await breaches() == []


async def test_a_lead_arriving_at_night_is_due_after_opening(desk, olga):
    desk.clock.set(at(SAMARA, 2026, 11, 23, 22, 0))  # Monday, closed
    await not_understood(olga)
    tuesday_10 = at(SAMARA, 2026, 11, 24, 10, 0)
    assert await sla_after(desk, (tuesday_10 - MON_10).total_seconds() / 60 + 14) == 0
    assert await sla_after(desk, (tuesday_10 - MON_10).total_seconds() / 60 + 15) == 1
    assert await breaches() == [("claim", tuesday_10 + dt.timedelta(minutes=15))]


async def test_the_breach_message_counts_working_minutes(desk, olga):
    desk.clock.set(at(SAMARA, 2026, 11, 23, 22, 0))
    await not_understood(olga)
    desk.clock.set(at(SAMARA, 2026, 11, 24, 10, 15))
    assert await check_sla(desk.config, desk.texts, desk.owner_ids, desk.clock.now()) == 1
    row = await Outbox.get(kind="sla")
    assert "15 мин" in row.payload["text"]


async def test_a_client_who_asked_for_a_human_gets_one_in_two_minutes(desk, olga):
    await add_managers(desk.clock)
    await reach(olga, Step.SERVICE)
    await olga.command("human")
    assert await sla_after(desk, 1) == 0
    assert await sla_after(desk, 2) == 1
    assert await sla_after(desk, 3) == 0
    assert await breaches() == [("human_reply", MON_10 + dt.timedelta(minutes=2))]
    assert sorted(await sla_chats("human_reply")) == sorted(str(c) for c in [OWNER, *MANAGERS])


async def test_a_staff_reply_meets_the_human_reply_sla(desk, olga):
    await reach(olga, Step.SERVICE)
    await olga.command("human")
    lead = await olga.lead()
    await MessageLog.create(
        channel="telegram",
        chat_id="501",
        client_id=lead.client_id,
        lead_id=lead.id,
        direction="out",
        author=f"staff:{MASHA.id}",
        kind="text",
        text="Здравствуйте! Я Маша, чем помочь?",
        at=MON_10 + dt.timedelta(minutes=1),
    )
    assert await sla_after(desk, 5) == 0
    assert await sla_after(desk, 15) == 1  # nobody claimed it, though
    assert [kind for kind, _ in await breaches()] == ["claim"]


async def test_a_pre_booking_unconfirmed_for_15_minutes_is_alerted(desk, olga):
    await add_managers(desk.clock)
    await book(olga)
    assert await sla_after(desk, 14) == 0
    await sla_after(desk, 15)
    await sla_after(desk, 16)
    kinds = [kind for kind, _ in await breaches()]
    assert kinds.count("prebooking") == 1
    assert await sla_chats("prebooking") == [str(c) for c in MANAGERS]


async def test_a_pre_booking_confirmed_in_time_is_no_breach(desk, olga):
    await book(olga)
    appointment = await Appointment.get(lead_id=(await olga.lead()).id)
    staff = LeadActions(desk.config, desk.texts, Booker(desk.config, desk.clock), desk.owner_ids)
    desk.clock.set(MON_10 + dt.timedelta(minutes=10))
    lead = await staff.confirm(appointment.id, OWNER, desk.clock.now())
    assert lead is not None
    await sla_after(desk, 60)
    assert "prebooking" not in [kind for kind, _ in await breaches()]
