"""A confirm whose slot its step's snapshot still shows free but another process booked a
moment ago loses at the master's cells (most confirms that pass the snapshot under load):
it reads neither the lead nor the client, books nothing and tells the client. The winner's
visit carries its lead and client, read once the visit is written."""

from __future__ import annotations

from bot import raw_sql
from bot.booking.booker import Booker
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.dialogs import DialogService
from bot.models import Appointment
from scenarios.state import Step
from tests.dialog_chat import TUE_10, Chat, reach, status_events

ANNA = "anna"


async def test_a_race_lost_at_the_cells_reads_neither_lead_nor_client(
    db, config: BusinessConfig, clock: FakeClock, monkeypatch
):
    here = DialogService(config, clock)
    olga = Chat(here, 901, "Ольга")
    await reach(olga, Step.SUMMARY)  # Anna, Tuesday 10:00
    service = config.service("manicure")
    offerable = here.booker.offerable
    rival: list[Appointment | None] = []

    async def then_another_process_books(slot, *args):  # after the snapshot said free
        free = await offerable(slot, *args)
        if not rival:
            rival.append(await Booker(config, clock).book(slot, service, (), None, None))
        return free

    monkeypatch.setattr(here.booker, "offerable", then_another_process_books)
    by_ids = raw_sql.by_ids
    read: list[tuple] = []

    async def counted(*wanted):
        read.append(wanted)
        return await by_ids(*wanted)

    monkeypatch.setattr(raw_sql, "by_ids", counted)
    replies = await olga.press("confirm")
    assert rival[0] is not None and rival[0].start == TUE_10 and rival[0].master_id == ANNA
    assert replies[0].text == here.texts("slot_taken")
    assert (await olga.state()).step == Step.SLOT
    assert read == []  # the lost race read neither the lead nor the client
    assert await Appointment.all().values_list("id", flat=True) == [rival[0].id]
    assert await status_events(await olga.lead()) == [(None, "new")]


async def test_the_winners_visit_carries_its_lead_and_client(
    db, config: BusinessConfig, clock: FakeClock
):
    dialogs = DialogService(config, clock)
    olga = Chat(dialogs, 902, "Ольга")
    await reach(olga, Step.SUMMARY)
    replies = await olga.press("confirm")
    assert "Заявка принята" in replies[-1].text
    visit = await Appointment.get()
    lead, client = await olga.lead(), await olga.client()
    assert (visit.lead_id, visit.client_id) == (lead.id, client.id)
    assert await status_events(lead) == [(None, "new"), ("new", "qualified")]
