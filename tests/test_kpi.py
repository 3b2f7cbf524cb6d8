"""KPIs on hand-built data in Asia/Omsk (UTC+6), expected values computed by hand.

November 2026 in Omsk is [2026-10-31 18:00 UTC, 2026-11-30 18:00 UTC). The data set:

lead  created (local)  source/campaign   what happens
L0    Oct 31 23:30     instagram/autumn  qualified Nov 1 00:20 (A0, later cancelled), lost
                                         «передумал» Nov 1 10:00 — moves across the boundary
L1    Nov 3 10:00      instagram/autumn  pre-booked 10:05 (A1), staff message 10:12, claimed
                                         10:15, confirmed 10:20, came Nov 5 (paid 3 200 ₽)
L2    Nov 10 20:50     instagram/autumn  asked for a human 20:50, claimed 20:55, staff message
                                         Nov 11 10:05, booked 10:10 (A2), no-show Nov 20
L3    Nov 12 12:00     vk/—              booked instantly 12:03 (A3), came Nov 25 (1 500,01 ₽)
L4    Nov 15 15:00     vk/—              lost «дорого»
L5    Nov 20 09:00     —/—               pre-booked 09:05 (A4, pending), SLA breach, no reply
L6    Dec 1 00:05      instagram/autumn  (December) A5: client C1 came Dec 1 00:30 (9 999 ₽)
—                                        A7: C2 no-show Nov 27 (confirmed by the client),
                                         A8: C3 came Nov 16 at boris (1 000,01 ₽),
                                         A6: C2 came 2027-03-10 (more than 90 days later)
"""

from __future__ import annotations

import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

import pytest
from tortoise import Tortoise

from bot.config import BusinessConfig, parse_config
from bot.db import close_db, init_db
from bot.models import Client, Lead, LeadEvent, MessageLog, SlaBreach
from bot.numbers import kpi
from bot.numbers.kpi import Period, Ratio
from tests.builders import appointment
from tests.conftest import ROOT

OMSK = ZoneInfo("Asia/Omsk")


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request, tmp_path):
    """The same SQL on both databases (PostgreSQL: the session's server, see conftest)."""
    if request.param == "sqlite":
        await init_db(f"sqlite://{tmp_path / 'priyom.sqlite3'}")
    else:
        url = request.getfixturevalue("postgres_url")
        await init_db(url)
        await Tortoise.get_connection("default").execute_script(
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
        )
        await close_db()
        await init_db(url)
    yield
    await close_db()


@pytest.fixture
def omsk() -> BusinessConfig:
    data = tomllib.loads((ROOT / "examples" / "salon.toml").read_text(encoding="utf-8"))
    data["business"]["timezone"] = "Asia/Omsk"
    return parse_config(data)


def at(month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0, year=2026):
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=OMSK).astimezone(dt.UTC)


async def lead(created: dt.datetime, source=None, campaign=None, manager=None, attention=None):
    row = await Lead.create(
        channel="telegram",
        source=source,
        campaign=campaign,
        manager_id=manager,
        attention_at=attention,
        created_at=created,
        updated_at=created,
    )
    await event(row, created, None, "new", actor="client")
    return row


async def event(row, when, from_status, to_status, actor="bot", kind="status", note=None):
    await LeadEvent.create(
        lead=row,
        at=when,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        kind=kind,
        note=note,
    )


async def visit(row, client, master, start, status, created, paid=None, confirmed_at=None):
    await appointment(
        start,
        status,
        created,
        master=master,
        paid=paid,
        lead=row,
        client=client,
        client_confirmed_at=confirmed_at,
    )


async def message(row, when, direction, author):
    await MessageLog.create(
        channel="telegram",
        chat_id=str(row.id),
        lead=row,
        direction=direction,
        author=author,
        kind="text",
        at=when,
    )


async def client(n: int) -> Client:
    return await Client.create(
        channel="telegram", channel_user_id=str(n), created_at=at(10, 1, year=2026)
    )


@pytest.fixture
async def november(db, omsk) -> Period:
    c1, c2, c3 = await client(1), await client(2), await client(3)
    ig = {"source": "instagram", "campaign": "autumn"}

    l0 = await lead(at(10, 31, 23, 30), **ig)
    await message(l0, at(10, 31, 23, 30), "in", "client")
    await message(l0, at(10, 31, 23, 31, 40), "out", "bot")
    await event(l0, at(11, 1, 0, 20), "new", "qualified")
    await visit(l0, None, "anna", at(11, 2, 12), "cancelled", at(11, 1, 0, 20))
    await event(l0, at(11, 1, 10), "qualified", "lost", actor="client", note="передумал")

    l1 = await lead(at(11, 3, 10), manager=101, attention=at(11, 3, 10, 5), **ig)
    await message(l1, at(11, 3, 10), "in", "client")
    await message(l1, at(11, 3, 10, 0, 2), "out", "bot")
    await event(l1, at(11, 3, 10, 5), "new", "qualified")
    await visit(l1, c1, "anna", at(11, 5, 11), "came", at(11, 3, 10, 5), 320000, at(11, 4))
    await message(l1, at(11, 3, 10, 12), "out", "staff:101")
    await event(l1, at(11, 3, 10, 15), "qualified", "qualified", "staff:101", "claim")
    await event(l1, at(11, 3, 10, 20), "qualified", "confirmed", "staff:101")
    await event(l1, at(11, 5, 12), "confirmed", "came", "staff:101")

    l2 = await lead(at(11, 10, 20, 50), manager=102, attention=at(11, 10, 20, 50), **ig)
    await message(l2, at(11, 10, 20, 50), "in", "client")
    await message(l2, at(11, 10, 20, 50, 4), "out", "bot")
    await event(l2, at(11, 10, 20, 50), "new", "new", kind="handoff")
    await event(l2, at(11, 10, 20, 55), "new", "new", "staff:102", "claim")
    await message(l2, at(11, 11, 10, 5), "out", "staff:102")
    await event(l2, at(11, 11, 10, 10), "new", "qualified")
    await visit(l2, None, "boris", at(11, 20, 15), "no_show", at(11, 11, 10, 10))
    await event(l2, at(11, 11, 10, 20), "qualified", "confirmed", "staff:102")
    await event(l2, at(11, 20, 16), "confirmed", "no_show", "staff:102")
    await SlaBreach.create(lead=l2, kind="claim", due_at=at(11, 11, 10, 4), detected_at=at(11, 11))

    l3 = await lead(at(11, 12), source="vk")
    await message(l3, at(11, 12), "in", "client")
    await message(l3, at(11, 12, 12, 0, 1), "out", "bot")
    await event(l3, at(11, 12, 12, 3), "new", "confirmed")
    await visit(l3, c2, "anna", at(11, 25), "came", at(11, 12, 12, 3), 150001)
    await event(l3, at(11, 25, 13), "confirmed", "came", "staff:101")

    l4 = await lead(at(11, 15, 15), source="vk")
    await message(l4, at(11, 15, 15), "in", "client")
    await message(l4, at(11, 15, 15, 0, 3), "out", "bot")
    await event(l4, at(11, 15, 15, 5), "new", "lost", actor="client", note="дорого")

    l5 = await lead(at(11, 20, 9), attention=at(11, 20, 9, 5))
    await message(l5, at(11, 20, 9), "in", "client")
    await message(l5, at(11, 20, 9, 0, 10), "out", "bot")
    await event(l5, at(11, 20, 9, 5), "new", "qualified")
    await visit(l5, None, "anna", at(11, 28), "pending", at(11, 20, 9, 5))
    await SlaBreach.create(lead=l5, kind="prebooking", due_at=at(11, 20), detected_at=at(11, 20))

    l6 = await lead(at(12, 1, 0, 5), manager=101, **ig)
    await visit(l6, c1, "anna", at(12, 1, 0, 30), "came", at(12, 1, 0, 5), 999900)

    await visit(None, c2, "boris", at(11, 27, 14), "no_show", at(11, 20), None, at(11, 26))
    await visit(None, c3, "boris", at(11, 16), "came", at(11, 10), 100001)
    await visit(None, c2, "anna", at(3, 10, year=2027), "came", at(12, 1), 100000)
    return Period.month(omsk, 2026, 11)


def test_periods_start_at_local_midnight(omsk):
    day = Period.day(omsk, dt.date(2026, 11, 1))
    assert day.start == dt.datetime(2026, 10, 31, 18, tzinfo=dt.UTC)
    assert day.end == dt.datetime(2026, 11, 1, 18, tzinfo=dt.UTC)
    week = Period.week(omsk, dt.date(2026, 11, 2))
    assert (week.start, week.end) == (at(11, 2, 0), at(11, 9, 0))
    month = Period.month(omsk, 2026, 12)
    assert (month.start, month.end) == (at(12, 1, 0), at(1, 1, 0, year=2027))
    assert Period.between(omsk, dt.date(2026, 11, 1), dt.date(2026, 11, 3)).end == at(11, 4, 0)
    with pytest.raises(ValueError):
        Period.week(omsk, dt.date(2026, 11, 3))
    with pytest.raises(ValueError):
        Period.between(omsk, dt.date(2026, 11, 3), dt.date(2026, 11, 1))


def test_ratio_formatting():
    assert Ratio(47, 200).format() == "23,5 %"
    assert Ratio(1, 3).format() == "33,3 %"
    assert Ratio(2, 3).format() == "66,7 %"
    assert Ratio(0, 5).format() == "0,0 %"
    assert Ratio(0, 0).value is None
    assert Ratio(0, 0).format() == "—"
    assert kpi.format_kop(123456789) == "1 234 567,89 ₽"
    assert kpi.format_kop(190000) == "1 900 ₽"


async def test_lead_kpis(november):
    assert await kpi.leads_in(november) == 5
    assert await kpi.conversion(november) == Ratio(4, 5)
    assert (await kpi.conversion(november)).format() == "80,0 %"
    # L1, L3 and L5 booked before any staff action; L2 was claimed first.
    assert await kpi.no_human_share(november) == Ratio(3, 4)
    # L1, L2, L5 waited for a human; L2 and L5 have breaches.
    assert await kpi.sla_compliance(november) == Ratio(1, 3)
    assert await kpi.lost_reasons(november) == [
        kpi.LostReason("дорого", 1),
        kpi.LostReason("передумал", 1),
    ]


async def test_visit_kpis(november):
    # A1, A2, A3, A4, A7, A8 are scheduled (A0 cancelled, A5 is December local time);
    # confirmed by the client or came: A1, A3, A7, A8.
    assert await kpi.confirmed_rate(november) == Ratio(4, 6)
    assert await kpi.no_show_rate(november) == Ratio(2, 5)  # A2, A7 of A1 A2 A3 A7 A8
    check = await kpi.average_check(november)
    assert (check.total_kop, check.count, check.kop) == (570002, 3, 190001)
    assert check.format() == "1 900,01 ₽"
    assert await kpi.revenue_by_master(november) == [
        kpi.Revenue("anna", 2, 470001),
        kpi.Revenue("boris", 1, 100001),
    ]
    assert await kpi.revenue_by_manager(november) == [
        kpi.Revenue(101, 1, 320000),
        kpi.Revenue(None, 2, 250002),
    ]
    # C1 came again on Dec 1 (within 90 days); C2 only on 2027-03-10; C3 never.
    assert await kpi.repeat_clients(november) == Ratio(1, 3)


async def test_funnel_counts_by_event_time(november, omsk):
    stages = await kpi.funnel(november)
    assert [(s.name, s.count) for s in stages] == [
        ("new", 6),  # L0 moved in November, so it is in November's funnel
        ("qualified", 5),  # L0 L1 L2 L3(instant, passed it) L5
        ("confirmed", 3),
        ("came", 2),
    ]
    assert [s.conversion for s in stages] == [None, Ratio(5, 6), Ratio(3, 5), Ratio(2, 3)]
    october = await kpi.funnel(Period.month(omsk, 2026, 10))
    assert [(s.name, s.count) for s in october] == [
        ("new", 1),
        ("qualified", 0),
        ("confirmed", 0),
        ("came", 0),
    ]
    assert [s.conversion.format() for s in october[1:]] == ["0,0 %", "—", "—"]
    # L0 was created in October and got its appointment on Nov 1 (local time).
    assert await kpi.leads_in(Period.month(omsk, 2026, 10)) == 1
    assert await kpi.conversion(Period.month(omsk, 2026, 10)) == Ratio(1, 1)


async def test_sources(november):
    rows = await kpi.sources(november)
    assert [(r.source, r.campaign, r.leads, r.bookings, r.revenue_kop) for r in rows] == [
        ("instagram", "autumn", 2, 2, 320000),
        ("vk", None, 2, 1, 150001),
        (None, None, 1, 1, 0),
    ]
    assert rows[1].conversion.format() == "50,0 %"
    assert (rows[0].spend_kop, rows[0].cpl_kop, rows[0].roi, rows[0].cac_kop) == (None,) * 4


async def test_first_response_medians(november, omsk):
    first = await kpi.first_response_median(omsk, november)
    # Bot: L1 2 s, L2 4 s, L3 1 s, L4 3 s, L5 10 s (L0 was created in October).
    assert first.bot_seconds == kpi.Median(3.0, 5)
    assert first.bot_seconds.format("с") == "3 с"
    # Humans: L1 7 working minutes; L2 10 before closing at 21:00 + 5 after 10:00 = 15;
    # L5 has no staff reply yet.
    assert first.human_minutes == kpi.Median(11.0, 2)
    assert first.human_unanswered == 1


async def test_an_empty_period_shows_dashes(november, omsk):
    empty = Period.month(omsk, 2026, 6)
    assert await kpi.leads_in(empty) == 0
    for function in (
        kpi.conversion,
        kpi.confirmed_rate,
        kpi.no_show_rate,
        kpi.repeat_clients,
        kpi.no_human_share,
        kpi.sla_compliance,
    ):
        ratio = await function(empty)
        assert (ratio.value, ratio.format()) == (None, "—"), function.__name__
    assert (await kpi.average_check(empty)).format() == "—"
    assert await kpi.revenue_by_master(empty) == []
    assert await kpi.revenue_by_manager(empty) == []
    assert await kpi.lost_reasons(empty) == []
    assert await kpi.sources(empty) == []
    stages = await kpi.funnel(empty)
    assert [s.count for s in stages] == [0, 0, 0, 0]
    assert [s.conversion.format() for s in stages[1:]] == ["—"] * 3
    first = await kpi.first_response_median(omsk, empty)
    assert first.bot_seconds.format("с") == "—"
    assert first.human_minutes.format("мин") == "—"


async def test_a_day_ends_at_local_midnight(db, omsk):
    await lead(at(11, 1, 23, 30))  # 17:30 UTC on Nov 1
    await lead(at(11, 2, 0, 10))  # 18:10 UTC, still Nov 1 in UTC
    first, second = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
    assert await kpi.leads_in(Period.day(omsk, first)) == 1
    assert await kpi.leads_in(Period.day(omsk, second)) == 1
    assert (await kpi.funnel(Period.day(omsk, second)))[0].count == 1
    assert await kpi.leads_in(Period.between(omsk, first, second)) == 2
