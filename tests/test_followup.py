"""Follow-up: a client silent mid-booking gets one gentle nudge within working hours, and
the lead is flagged for managers."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.booking.followup import nudge_stalled
from bot.dialogs import DialogService
from bot.models import Lead, Outbox
from scenarios.state import Step
from tests import timed_helpers
from tests.test_booking_flow import book, reach, text
from tests.timed_helpers import (
    MON_10,
    SAMARA,
    at,
    row_actions,
)
from workers.timed import TimedWork

desk, olga = timed_helpers.desk, timed_helpers.olga  # the shared fixtures


async def nudges_at(desk: DialogService, moment: dt.datetime) -> int:
    desk.clock.set(moment)
    return await nudge_stalled(desk.config, desk.texts, moment)


async def nudge_rows() -> list[Outbox]:
    return await Outbox.filter(kind="nudge").order_by("id")


async def test_a_silent_client_gets_exactly_one_nudge_and_the_lead_is_flagged(desk, olga):
    await reach(olga, Step.ADDON)  # Monday 10:00, then silence
    assert await nudges_at(desk, MON_10 + dt.timedelta(minutes=59)) == 0
    assert await nudges_at(desk, MON_10 + dt.timedelta(minutes=60)) == 1
    for minutes in (61, 90, 180):  # more ticks
        assert await nudges_at(desk, MON_10 + dt.timedelta(minutes=minutes)) == 0

    (row,) = await nudge_rows()
    assert (row.bot, row.chat_id) == ("client", "501")
    assert "вы не закончили запись" in row.payload["text"]
    assert row_actions(row) == ["resume", "human"]
    lead = await olga.lead()
    assert row.lead_id == lead.id
    assert lead.needs_human and lead.handoff_reason == "stalled"


async def test_the_timed_work_tick_nudges_once(desk, olga):
    await reach(olga, Step.TIME)
    work = TimedWork(desk.config, desk.texts, desk.clock, desk.owner_ids)
    done = []
    for minutes in (30, 60, 61, 120):
        desk.clock.set(MON_10 + dt.timedelta(minutes=minutes))
        done.append((await work.run())["nudges"])
    assert done == [0, 1, 0, 0]


async def test_outside_working_hours_the_nudge_waits_for_the_rest_of_the_hour(desk, olga):
    desk.clock.set(at(SAMARA, 2026, 11, 23, 20, 30))  # 30 working minutes left on Monday
    await reach(olga, Step.SLOT)
    for moment in [(2026, 11, 23, 20, 59), (2026, 11, 23, 21, 30), (2026, 11, 24, 9, 59)]:
        assert await nudges_at(desk, at(SAMARA, *moment)) == 0, moment
    assert await nudges_at(desk, at(SAMARA, 2026, 11, 24, 10, 29)) == 0
    assert await nudges_at(desk, at(SAMARA, 2026, 11, 24, 10, 30)) == 1


async def test_after_an_answer_a_later_silence_may_be_nudged_again(desk, olga):
    await reach(olga, Step.ADDON)
    assert await nudges_at(desk, MON_10 + dt.timedelta(minutes=60)) == 1
    desk.clock.set(MON_10 + dt.timedelta(minutes=65))
    await olga.press("addon:none")  # the client answers, then is silent again
    assert await nudges_at(desk, MON_10 + dt.timedelta(minutes=124)) == 0
    assert await nudges_at(desk, MON_10 + dt.timedelta(minutes=125)) == 1
    assert await nudges_at(desk, MON_10 + dt.timedelta(minutes=200)) == 0
    assert len(await nudge_rows()) == 2


async def test_a_client_who_finished_is_not_nudged(desk, olga):
    await book(olga)
    assert (await olga.state()).step == Step.DONE
    assert await nudges_at(desk, MON_10 + dt.timedelta(hours=3)) == 0
    assert await nudge_rows() == []
    assert (await Lead.get(id=(await olga.lead()).id)).handoff_reason != "stalled"


@pytest.mark.parametrize(
    ("step", "question"),
    [(Step.ADDON, "Добавить к услуге"), (Step.TIME, "Когда вам удобно"), (Step.NAME, "обращаться")],
)
async def test_resume_asks_the_current_question_again(desk, olga, step, question):
    await reach(olga, step)
    await nudges_at(desk, MON_10 + dt.timedelta(minutes=60))
    replies = await olga.press("resume")
    assert question in text(replies)
    assert (await olga.state()).step == step


async def test_a_client_waiting_for_a_person_is_not_nudged(desk, olga):
    await reach(olga, Step.SERVICE)
    await olga.command("human")
    assert await nudges_at(desk, MON_10 + dt.timedelta(minutes=90)) == 0
    assert (await olga.lead()).handoff_reason == "asked"
