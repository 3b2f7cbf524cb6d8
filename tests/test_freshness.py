"""A message held back (an outage) is checked again just before it is sent: the kinds that
would be wrong late are skipped, the rest go however late. Driven through the real timed
work and `deliver_due` on the database, with our own recording sender."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.booking.followup import nudge_stalled
from bot.delivery.outbox import Message, deliver_due, enqueue
from bot.models import MessageLog, Outbox, OutboxStatus, StaffRole
from bot.staffwork.lead_actions import claim
from scenarios.state import Step
from tests import timed_helpers
from tests.staff_fixtures import MASHA, add_staff
from tests.test_booking_flow import reach
from tests.test_sla import not_understood, sla_after
from tests.timed_helpers import MON_10, Recorder

desk, olga = timed_helpers.desk, timed_helpers.olga  # the shared fixtures


async def status_of(kind: str) -> list[str]:
    return [r.status for r in await Outbox.filter(kind=kind).order_by("id")]


@pytest.mark.parametrize("claimed", [True, False], ids=["taken-meanwhile", "still-waiting"])
async def test_a_claim_escalation_is_skipped_once_the_lead_is_taken(desk, olga, claimed):
    await add_staff(MASHA, StaffRole.MANAGER, desk.clock)
    lead = await not_understood(olga)
    assert await sla_after(desk, 15) == 1  # queued; the staff bot is unreachable for a while
    if claimed:
        await claim(lead.id, MASHA.id, desk.clock.now())
    desk.clock.advance(minutes=20)
    sender = Recorder()
    await deliver_due(sender, desk.clock)
    assert await status_of("sla") == [OutboxStatus.SKIPPED if claimed else OutboxStatus.SENT]
    assert sender.kinds.count("sla") == (0 if claimed else 1)


async def test_a_human_reply_escalation_is_skipped_once_staff_answered(desk, olga):
    await reach(olga, Step.SERVICE)
    await olga.command("human")
    assert await sla_after(desk, 2) == 1
    lead = await olga.lead()
    await MessageLog.create(
        channel="telegram",
        chat_id="501",
        client_id=lead.client_id,
        lead_id=lead.id,
        direction="out",
        author=f"staff:{MASHA.id}",
        kind="text",
        text="Здравствуйте!",
        at=desk.clock.now() + dt.timedelta(minutes=1),
    )
    desk.clock.advance(minutes=5)
    await deliver_due(Recorder(), desk.clock)
    assert await status_of("sla") == [OutboxStatus.SKIPPED]


@pytest.mark.parametrize("wrote", [True, False], ids=["client-wrote-meanwhile", "still-silent"])
async def test_a_nudge_is_skipped_once_the_client_has_written(desk, olga, wrote):
    await reach(olga, Step.ADDON)
    desk.clock.set(MON_10 + dt.timedelta(minutes=60))
    assert await nudge_stalled(desk.config, desk.texts, desk.clock.now()) == 1
    desk.clock.advance(minutes=3)
    if wrote:
        await olga.press("back")
    desk.clock.advance(minutes=2)
    await deliver_due(Recorder(), desk.clock)
    assert await status_of("nudge") == [OutboxStatus.SKIPPED if wrote else OutboxStatus.SENT]


async def test_a_confirmation_goes_however_late(desk):
    await enqueue(
        bot="client",
        chat_id=501,
        kind="notice",
        message=Message("Ваша запись подтверждена"),
        dedup_key="notice:late",
        now=desk.clock.now(),
    )
    desk.clock.advance(days=3)
    assert await deliver_due(Recorder(), desk.clock) == 1
