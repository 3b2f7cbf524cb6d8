"""The confirm step (a prebooking and its staff alert) in fewer round trips on SQLite, with
the same rows: the card is built from the client and the visit the booking already holds,
the lead's SLA clock is saved by the status move's UPDATE, and consent creates the client
with its consent."""

from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.dialogs import DialogService
from bot.models import Appointment, Client, Lead, Outbox
from bot.staffwork.actions import Confirm, MoveAsk
from bot.staffwork.alerts import card
from scenarios.state import Step
from tests.dialog_chat import Chat, reach, status_events
from tests.test_step_commit import count_round_trips

OWNER = 9001


@pytest.fixture
def dialogs(db, config: BusinessConfig, clock: FakeClock) -> DialogService:
    return DialogService(config, clock, owner_ids=frozenset({OWNER}))


async def confirm_counted(chat: Chat) -> list[str]:
    """Book in a fresh chat; the round trips of «Подтвердить» alone."""
    await reach(chat, Step.SUMMARY)
    calls: list[str] = []
    restore = count_round_trips(calls)
    try:
        await chat.press("confirm")
    finally:
        restore()
    return calls


async def test_the_confirm_step_takes_15_round_trips(dialogs: DialogService):
    calls = await confirm_counted(Chat(dialogs, 501, "Ольга"))
    # 26 before: the card's two reads, the lead's second UPDATE, the visit read back; 22
    # before the booking became one hand-off (bot.booking.booking_rows), the staff alert
    # one INSERT without a savepoint, the log rows and the update one hand-off
    assert len(calls) <= 15, calls


async def test_the_alert_card_shows_the_client_and_the_visit(dialogs: DialogService, config, clock):
    chat = Chat(dialogs, 501, "Ольга")
    await confirm_counted(chat)
    lead, client, visit = await Lead.get(), await Client.get(), await Appointment.get()
    alert = await Outbox.get(kind="alert", chat_id=str(OWNER))
    assert "Ольга" in alert.payload["text"] and "+79271234567" in alert.payload["text"]
    assert [Confirm(visit.id).pack(), MoveAsk(visit.id).pack()] == [
        data for _, data in alert.payload["buttons"][1][:2]
    ]
    # what the booking passes is what the card would read
    now = clock.now()
    known = await card(lead, config, dialogs.texts, now, "prebooking", known=(client, visit))
    assert known == await card(lead, config, dialogs.texts, now, "prebooking")


async def test_the_lead_waits_for_staff_and_is_qualified_in_one_update(
    dialogs: DialogService, clock
):
    chat = Chat(dialogs, 501, "Ольга")
    await confirm_counted(chat)
    lead = await Lead.get()
    assert (lead.status, lead.attention_at, lead.updated_at) == (
        "qualified",
        clock.now(),
        clock.now(),
    )
    assert await status_events(lead) == [(None, "new"), ("new", "qualified")]


async def test_consent_creates_the_client_with_its_consent(dialogs: DialogService, clock):
    chat = Chat(dialogs, 501, "Ольга")
    await reach(chat, Step.SERVICE)
    client = await Client.get()
    assert (client.consent_at, client.consent_policy_version) == (
        clock.now(),
        dialogs.config.business.policy_version,
    )
