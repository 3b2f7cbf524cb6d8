"""The per-process cache of the masters' visits and overrides (bot.booking.master_times):
a warm slot page reads neither table, and a change committed by anyone else (another
process's booking, a staff block, a change made in SQL) is seen by the next step."""

from __future__ import annotations

import datetime as dt
import sqlite3

from tortoise import Tortoise

from bot.booking import versions
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.dialogs import DialogService
from bot.models import Appointment
from bot.schedule_models import OverrideKind, ScheduleOverride
from scenarios.types import Input
from tests import test_no_double_booking as races


async def slot_page(dialogs: DialogService, chat: str) -> list[str]:
    """A new chat's first page of brows tomorrow: the slot buttons' actions."""
    for step in ("consent:yes", "svc:brows", "addon:none", "when:tomorrow"):
        if step == "consent:yes":
            await dialogs.handle("test", chat, Input.command("start"))
        replies = await dialogs.handle("test", chat, Input.button(step))
    return [b.action for row in replies[-1].buttons for b in row if b.action.startswith("slot:")]


def two_processes(config: BusinessConfig, clock: FakeClock) -> tuple[DialogService, ...]:
    """Two services on one database share nothing in memory, as two processes would."""
    return DialogService(config, clock), DialogService(config, clock)


async def test_a_booking_by_another_process_is_never_offered(db, config, clock):
    here, there = two_processes(config, clock)
    page = await slot_page(here, "here-1")  # this process's cache is warm now
    await races.drive_to_summary(there, "there-1")  # takes the first slot of that page
    replies = await there.handle("test", "there-1", Input.button("confirm"))
    assert "Заявка принята" in replies[-1].text
    assert await Appointment.all().count() == 1
    again = await slot_page(here, "here-2")
    assert page[0] not in again
    assert again


async def test_a_block_made_elsewhere_is_seen_at_the_next_step(db, config, clock):
    here, _ = two_processes(config, clock)
    page = await slot_page(here, "here-1")
    master, minute = page[0].split(":")[1:]
    start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=int(minute))
    await ScheduleOverride.create(  # a staff member of another process blocks that hour
        master_id=master,
        kind=OverrideKind.BLOCK,
        start=start,
        end=start + dt.timedelta(hours=1),
        created_by=1,
        created_at=clock.now(),
    )
    assert page[0] not in await slot_page(here, "here-2")


async def test_a_warm_slot_page_reads_neither_visits_nor_overrides(db, dialogs):
    statements: list[str] = []
    client = Tortoise.get_connection("default")
    connection, reader = client._connection, client.reader()  # reader: the counters
    await slot_page(dialogs, "warm-1")
    await connection.set_trace_callback(statements.append)
    reader.set_trace_callback(statements.append)
    await slot_page(dialogs, "warm-2")
    await connection.set_trace_callback(None)
    reader.set_trace_callback(None)
    reads = [s for s in statements if '"appointment"' in s or '"schedule_override"' in s]
    assert reads == []
    assert any('"cache_version"' in s for s in statements)


def _start_of(action: str) -> tuple[str, dt.datetime]:
    master, minute = action.split(":")[1:]
    return master, dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=int(minute))


async def test_another_connections_commits_show_on_the_next_page(db, config, clock):
    """A cache load reads what is committed through the loop-thread reader: a visit and a
    block committed by another connection to the file (as another process's), and the
    visit's cancellation, each show on this process's next page, read by that reader."""
    here, _ = two_processes(config, clock)
    page = await slot_page(here, "here-1")  # warm
    (blocked_master, blocked), (busy_master, busy) = _start_of(page[0]), _start_of(page[1])
    hour = dt.timedelta(hours=1)
    other = sqlite3.connect(db, isolation_level=None)  # another process's connection
    other.execute(
        'INSERT INTO schedule_override (master_id, kind, start, "end", created_by, created_at) '
        "VALUES (?, 'block', ?, ?, 1, ?)",
        (blocked_master, str(blocked), str(blocked + hour), str(clock.now())),
    )
    other.execute(
        'INSERT INTO appointment (service_id, addon_ids, master_id, start, "end", price_kop, '
        "deposit_kop, status, created_at) VALUES ('brows', '[]', ?, ?, ?, 0, 0, 'confirmed', ?)",
        (busy_master, str(busy), str(busy + hour), str(clock.now())),
    )
    statements: list[str] = []
    reader = Tortoise.get_connection("default").reader()
    reader.set_trace_callback(statements.append)
    again = await slot_page(here, "here-2")
    reader.set_trace_callback(None)
    assert page[0] not in again and page[1] not in again and again
    assert any('"appointment"' in s and '"schedule_override"' in s for s in statements)
    other.execute("UPDATE appointment SET status = 'cancelled'")
    other.execute("UPDATE schedule_override SET undone_at = ?", (str(clock.now()),))
    other.close()
    assert (await slot_page(here, "here-3"))[:2] == page[:2]


async def test_a_visit_cancelled_in_sql_is_offered_again(db, config, clock):
    here, there = two_processes(config, clock)
    page = await slot_page(here, "here-1")
    await races.drive_to_summary(there, "there-1")
    await there.handle("test", "there-1", Input.button("confirm"))
    assert page[0] not in await slot_page(here, "here-2")
    connection = Tortoise.get_connection("default")
    await connection.execute_script("UPDATE appointment SET status = 'cancelled'")
    assert (await slot_page(here, "here-3"))[0] == page[0]


async def test_a_race_lost_after_the_snapshot_is_not_offered_again(db, config, clock):
    """The other booking commits just after this step read the counters: the insert loses
    on the unique cells, and the page shown next leaves the lost time out."""
    here, there = two_processes(config, clock)
    taken = (await slot_page(here, "probe"))[0]
    await races.drive_to_summary(here, "here-1")  # picks that same first slot
    stale = await versions.read()
    await races.drive_to_summary(there, "there-1")
    await there.handle("test", "there-1", Input.button("confirm"))

    async def read_before_their_commit() -> versions.Versions:
        return stale

    here._read_versions = read_before_their_commit
    replies = await here.handle("test", "here-1", Input.button("confirm"))
    offered = [b.action for r in replies for row in r.buttons for b in row]
    assert any(a.startswith("slot:") for a in offered)
    assert taken not in offered
    assert await Appointment.all().count() == 1


async def test_paging_past_a_list_that_shrank_shows_its_first_page(db, config, clock):
    """Others booked the rest of the list while a client paged on: the client gets the
    list's first page again, never "no slots" while slots are free."""
    dialogs = DialogService(config, clock)
    tomorrow = clock.now().astimezone(config.tz).date() + dt.timedelta(days=1)
    page = await dialogs.booker.find("brows", [], tomorrow, tomorrow, None, None, None, 600, 6)
    assert page.slots and page.from_start and page.matches_wish
    first = await dialogs.booker.find("brows", [], tomorrow, tomorrow, None, None, None, 0, 6)
    assert page.slots == first.slots and not first.from_start
