"""What a client step reads, and where (issue 16 item 6): a new chat's conversation in
prepared SQL, a master's reload after a booking by the loop-thread reader (bot.raw_sql
.fetch_committed) and never stale, the waitlist and staff reads of a booking."""

from __future__ import annotations

import asyncio

from bot.dialogs import DialogService
from bot.models import Conversation, Lead, MessageLog
from scenarios.types import Input
from tests import test_no_double_booking as races
from tests.test_slot_cache import slot_page
from tests.test_step_commit import count_round_trips


async def test_two_processes_opening_one_new_chat_make_one_conversation(db, config, clock):
    """Both read no row, both insert: the unique (channel, chat) refuses the second, which
    takes the first's row; the versioned save then orders their steps."""
    here, there = DialogService(config, clock), DialogService(config, clock)
    replies = await asyncio.gather(
        here.handle("test", "new-1", Input.command("start")),
        there.handle("test", "new-1", Input.command("start")),
    )
    assert all(r and "согласи" in r[-1].text.lower() for r in replies)
    assert await Conversation.filter(chat_id="new-1").count() == 1
    conv = await Conversation.get(chat_id="new-1")
    assert conv.version == 2  # both steps saved, one after the other
    assert await MessageLog.filter(chat_id="new-1", direction="in").count() == 2


async def test_a_page_after_a_booking_elsewhere_reloads_without_a_round_trip(db, config, clock):
    """The master's visits are re-read after another process's booking, in the loop's
    thread: the slot page is no round trip to aiosqlite's thread, and the taken slot is
    not on it."""
    here, there = DialogService(config, clock), DialogService(config, clock)
    page = await slot_page(here, "here-1")
    await races.drive_to_summary(there, "there-1")  # takes the first slot of that page
    await there.handle("test", "there-1", Input.button("confirm"))
    for step in ("consent:yes", "svc:brows", "addon:none"):
        if step == "consent:yes":
            await here.handle("test", "here-2", Input.command("start"))
        await here.handle("test", "here-2", Input.button(step))
    calls: list[str] = []
    restore = count_round_trips(calls)
    try:
        replies = await here.handle("test", "here-2", Input.button("when:tomorrow"))
    finally:
        restore()
    offered = [b.action for row in replies[-1].buttons for b in row]
    assert page[0] not in offered and any(a.startswith("slot:") for a in offered)
    assert len(calls) == 1, calls  # the step's commit alone


async def test_a_start_mid_flow_keeps_its_lead_until_it_has_a_visit(db, config, clock):
    dialogs = DialogService(config, clock)
    await dialogs.handle("test", "c1", Input.command("start"))
    await dialogs.handle("test", "c1", Input.button("consent:yes"))
    first = await Conversation.get(chat_id="c1")
    assert first.lead_id is not None
    await dialogs.handle("test", "c1", Input.command("start"))  # mid-flow: the same lead
    assert (await Conversation.get(chat_id="c1")).lead_id == first.lead_id
    assert await Lead.all().count() == 1
    await races.drive_to_summary(dialogs, "c2")
    await dialogs.handle("test", "c2", Input.button("confirm"))
    booked = (await Conversation.get(chat_id="c2")).lead_id
    await dialogs.handle("test", "c2", Input.command("start"))  # its lead has a visit now
    again = (await Conversation.get(chat_id="c2")).lead_id
    assert booked is not None and again is not None and again != booked
    assert await Lead.all().count() == 3
