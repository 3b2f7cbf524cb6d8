"""Reports on hand-built data in Asia/Omsk (UTC+6): the evening summary, the weekly report,
its chart through the fake Bot API, the schedule (once per day, per week), period parsing
and anomalies. Expected values are computed by hand from the data set below.

The week Mon 16 – Sun 22 November 2026 (Omsk; the salon opens 10:00 on weekdays):

lead  created (local)      source      manager  what happens
L0    Sun 15 23:50 (before) instagram  Маша     A0 made Mon 16 09:00, anna, came 14:00, 1 500 ₽
L1    Mon 16 10:00         instagram   Маша     waits 10:00, Маша writes 10:06; A1 made 10:10,
                                                anna, came Wed 18 12:00, 2 000 ₽
L2    Tue 17 11:00         instagram   Маша     waits 11:00, Маша writes 11:04; no booking
L3    Wed 18 12:00         vk          Петя     waits 12:00, no reply; SLA «owner» breach 12:40;
                                                A3 made 13:00, boris, no-show Fri 20 15:00
L4    Sun 22 23:30         —           —        nothing (the last half hour of the week)
L5    Mon 23 00:10 (after) vk          Петя     outside the week
—     Tue 17 23:59:59 and Wed 18 00:00: two visits at olga made (confirmed), no lead
"""

from __future__ import annotations

import datetime as dt
import io
import tomllib
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from tortoise import Tortoise
from tortoise.utils import get_schema_sql

from bot.clock import FakeClock
from bot.config import BusinessConfig, parse_config
from bot.delivery.outbox import deliver_due
from bot.i18n import Texts
from bot.models import (
    Appointment,
    Lead,
    LeadEvent,
    MessageLog,
    Outbox,
    SlaBreach,
    StaffMember,
    StaffRole,
)
from bot.numbers import kpi_daily, kpi_team, reports
from bot.numbers.anomalies import queue_anomalies
from bot.numbers.kpi import Period
from bot.periods import Span, parse_span
from handlers.telegram_outbox import TelegramSender
from tests import test_kpi
from tests.builders import appointment
from tests.conftest import ROOT
from tests.fakes.bot_api import FakeBotApi
from workers.timed import TimedWork

db = test_kpi.db  # the fixture: every test here on SQLite, and on PostgreSQL when set
OMSK = ZoneInfo("Asia/Omsk")
OWNERS = frozenset({9001, 9002})
MASHA, PETYA = 7001, 7002
T = Texts("ru")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WEEK = Span(dt.date(2026, 11, 16), dt.date(2026, 11, 22))


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 11):
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=OMSK).astimezone(dt.UTC)


@pytest.fixture
def omsk() -> BusinessConfig:
    data = tomllib.loads((ROOT / "examples" / "salon.toml").read_text(encoding="utf-8"))
    data["business"]["timezone"] = "Asia/Omsk"
    data["business"]["owners"] = sorted(OWNERS)
    return parse_config(data)


async def lead(created, source=None, manager=None, attention=None) -> Lead:
    """The KPI tests' lead (with its «new» event), taking the manager third."""
    return await test_kpi.lead(created, source, manager=manager, attention=attention)


async def visit(row, master, start, status, created, paid=None) -> Appointment:
    return await appointment(start, status, created, master=master, paid=paid, lead=row)


async def staff_reply(row, when) -> None:
    await MessageLog.create(
        channel="telegram",
        chat_id="1",
        lead=row,
        direction="out",
        author=f"staff:{row.manager_id}",
        kind="text",
        at=when,
    )


@pytest.fixture
async def week(db, omsk) -> dict[str, Lead]:
    for tid, name in ((MASHA, "Маша"), (PETYA, "Петя")):
        await StaffMember.create(
            telegram_id=tid, role=StaffRole.MANAGER, name=name, created_at=at(1)
        )
    ig = "instagram"
    l0 = await lead(at(15, 23, 50), ig, MASHA)
    await visit(l0, "anna", at(16, 14), "came", at(16, 9), 150000)
    l1 = await lead(at(16, 10), ig, MASHA, attention=at(16, 10))
    await staff_reply(l1, at(16, 10, 6))
    await visit(l1, "anna", at(18, 12), "came", at(16, 10, 10), 200000)
    l2 = await lead(at(17, 11), ig, MASHA, attention=at(17, 11))
    await staff_reply(l2, at(17, 11, 4))
    l3 = await lead(at(18, 12), "vk", PETYA, attention=at(18, 12))
    await SlaBreach.create(lead=l3, kind="owner", due_at=at(18, 12, 30), detected_at=at(18, 12, 40))
    await visit(l3, "boris", at(20, 15), "no_show", at(18, 13))
    l4 = await lead(at(22, 23, 30))
    l5 = await lead(at(23, 0, 10), "vk", PETYA)
    await visit(None, "olga", at(25, 12), "confirmed", at(17, 23, 59, 59))
    await visit(None, "olga", at(26, 12), "confirmed", at(18, 0, 0))
    return {"l3": l3, "l4": l4, "l5": l5}


# --- the evening summary -----------------------------------------------------------------


async def test_evening_summary_is_five_lines_and_a_hint(week, omsk):
    text = await reports.evening_summary(omsk, T, dt.date(2026, 11, 18))
    assert text.splitlines() == [
        "Заявок за 18.11: 1",
        "Подтверждённых записей: 2",  # A3 and the olga visit made at 00:00 (not 23:59:59)
        "Неявки: 0,0 %",  # A1 came on the 18th; A3's no-show is on the 20th
        "Источники: ВКонтакте 1",
        f"Худшее: заявку №{week['l3'].id} никто не взял — ушло владельцу "
        "(нарушений SLA за день: 1)",
        "Подробнее: /kpi сегодня, /staff, /sources",
    ]


async def test_evening_summary_of_an_empty_day_shows_dashes(week, omsk):
    text = await reports.evening_summary(omsk, T, dt.date(2026, 11, 19))
    assert text.splitlines() == [
        "Заявок за 19.11: 0",
        "Подтверждённых записей: 0",
        "Неявки: —",
        "Источники: —",
        "Нарушений SLA за день нет",
        "Подробнее: /kpi сегодня, /staff, /sources",
    ]


async def test_confirmed_bookings_split_at_local_midnight(week, omsk):
    tuesday = await kpi_daily.confirmed_bookings(Period.day(omsk, dt.date(2026, 11, 17)))
    wednesday = await kpi_daily.confirmed_bookings(Period.day(omsk, dt.date(2026, 11, 18)))
    assert (tuesday, wednesday) == (1, 2)  # 23:59:59 Omsk is Tuesday, 00:00 is Wednesday


async def test_summary_goes_once_at_20_00_business_time(week, omsk):
    clock = FakeClock(dt.datetime(2026, 11, 18, 19, 59, tzinfo=OMSK))
    work = TimedWork(omsk, T, clock, OWNERS)
    assert (await work.run())["reports"] == 0
    clock.set(dt.datetime(2026, 11, 18, 20, 0, tzinfo=OMSK))
    assert (await work.run())["reports"] == 2  # one per owner
    assert (await work.run())["reports"] == 0  # the next tick
    assert (await TimedWork(omsk, T, clock, OWNERS).run())["reports"] == 0  # another process
    rows = await Outbox.filter(kind="summary").order_by("chat_id")
    assert [r.dedup_key for r in rows] == ["summary:2026-11-18:9001", "summary:2026-11-18:9002"]
    assert rows[0].payload["text"].startswith("Заявок за 18.11: 1\n")


async def test_a_missed_summary_is_not_sent_the_next_day(week, omsk):
    clock = FakeClock(dt.datetime(2026, 11, 19, 10, 0, tzinfo=OMSK))  # down all of the 18th
    work = TimedWork(omsk, T, clock, OWNERS)
    await work.run()
    assert await Outbox.filter(kind="summary").count() == 0
    clock.set(dt.datetime(2026, 11, 19, 23, 0, tzinfo=OMSK))  # back late on the 19th
    await work.run()
    keys = await Outbox.filter(kind="summary").values_list("dedup_key", flat=True)
    assert sorted(keys) == ["summary:2026-11-19:9001", "summary:2026-11-19:9002"]


# --- the weekly report -------------------------------------------------------------------


async def test_weekly_figures_per_manager_and_master(week, omsk):
    period = WEEK.period(omsk)
    managers = {r.manager_id: r for r in await kpi_team.by_manager(omsk, period)}
    masha, petya, nobody = managers[MASHA], managers[PETYA], managers[None]
    assert (masha.leads, masha.booked, masha.bookings, masha.breaches) == (2, 1, 2, 0)
    assert masha.conversion.format() == "50,0 %"
    assert masha.check.format() == "1 750 ₽"  # (1 500 + 2 000) / 2
    assert masha.first_response.format("мин") == "5 мин"  # median of 6 and 4
    assert (petya.leads, petya.booked, petya.bookings, petya.breaches) == (1, 1, 1, 1)
    assert (petya.check.format(), petya.first_response.format("мин")) == ("—", "—")
    assert (nobody.leads, nobody.booked, nobody.conversion.format()) == (1, 0, "0,0 %")
    assert list(managers) == [MASHA, PETYA, None]

    masters = {r.master_id: r for r in await kpi_team.by_master(period)}
    assert (masters["anna"].bookings, masters["anna"].visit_rate.format()) == (2, "100,0 %")
    assert masters["anna"].check.format() == "1 750 ₽"
    assert (masters["boris"].bookings, masters["boris"].visit_rate.format()) == (1, "0,0 %")
    assert (masters["olga"].bookings, masters["olga"].visit_rate.format()) == (2, "—")


async def test_weekly_text_per_person_and_source(week, omsk):
    lines = (await reports.weekly_text(omsk, T, WEEK)).splitlines()
    assert lines[:3] == [
        "Неделя 16.11–22.11.2026",
        "Заявок 4, конверсия 50,0 %, подтверждено 66,7 %, неявки 33,3 %, ср. чек 1 750 ₽",
        "Менеджеры:",
    ]
    assert lines[3] == (
        "• Маша: записей 2, конверсия 50,0 %, ср. чек 1 750 ₽, первый ответ 5 мин, нарушений SLA 0"
    )
    assert lines[4] == (
        "• Петя: записей 1, конверсия 100,0 %, ср. чек —, первый ответ —, нарушений SLA 1"
    )
    assert "• Анна: записей 2, дошли 100,0 %, ср. чек 1 750 ₽" in lines
    assert lines[-4:] == [
        "Источники:",
        "• Instagram: заявок 2, CPL —, конверсия 50,0 %, ROI —",
        "• ВКонтакте: заявок 1, CPL —, конверсия 100,0 %, ROI —",
        "• без источника: заявок 1, CPL —, конверсия 0,0 %, ROI —",
    ]


async def test_sources_with_known_spend(week, omsk):
    rows = await kpi_daily.sources_with_money(WEEK.period(omsk), {"instagram": 300000})
    ig = rows[0]
    assert (ig.source, ig.leads, ig.bookings, ig.revenue_kop) == ("instagram", 2, 1, 200000)
    assert (ig.cpl_kop, ig.cac_kop) == (150000, 300000)  # 3 000 ₽ / 2 leads, / 1 booked
    assert ig.roi is not None and ig.roi.format() == "-33,3 %"  # (2 000 − 3 000) / 3 000
    assert rows[1].cpl_kop is None and rows[1].roi is None  # vk: spend unknown → «—»


async def test_weekly_report_and_chart_reach_the_owner_as_text_and_photo(week, omsk):
    clock = FakeClock(dt.datetime(2026, 11, 23, 9, 0, tzinfo=OMSK))
    owner = frozenset({9001})
    assert (await TimedWork(omsk, T, clock, owner).run())["reports"] == 2  # text + chart
    assert (await TimedWork(omsk, T, clock, owner).run())["reports"] == 0
    clock.advance(seconds=2)
    async with FakeBotApi() as api:
        bot = api.make_bot("222222:staff", parse_mode=None)
        try:
            # the owner's text and chart, and each manager's own week (bot/coach/weekly.py)
            assert await deliver_due(TelegramSender({"staff": bot}), clock) == 4
        finally:
            await bot.session.close()
    sent = api.calls("222222:staff", "sendMessage")
    (text,) = [c for c in sent if c.params["chat_id"] in (9001, "9001")]
    assert sorted(str(c.params["chat_id"]) for c in sent if c is not text) == ["7001", "7002"]
    assert text.params["text"].startswith("Неделя 16.11–22.11.2026\n")
    (photo,) = api.calls("222222:staff", "sendPhoto")
    assert photo.params["chat_id"] in (9001, "9001")
    assert photo.params["caption"] == "Воронка и заявки по дням, 16.11–22.11.2026"
    png = photo.files["photo"].content
    assert png.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(png)) as image:  # a whole, decodable PNG, not just a header
        image.load()
        assert (image.format, image.size) == ("PNG", (1000, 420))


async def test_chart_numbers(week, omsk):
    stages, labels, series = await reports.weekly_chart_data(omsk, T, WEEK)
    assert stages == [("Новые", 4), ("Квалифицированы", 0), ("Подтверждены", 0), ("Пришли", 0)]
    assert labels[0] == "16.11" and labels[-1] == "22.11"
    assert series == [
        ("Заявки", [1, 1, 1, 0, 0, 0, 1]),
        ("Записи", [2, 1, 2, 0, 0, 0, 0]),  # A0 and A1 Mon; olga Tue 23:59:59; A3 and olga Wed
    ]


# --- periods -----------------------------------------------------------------------------

TODAY = dt.date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("", "2026-11-23", "2026-11-29"),
        ("week", "2026-11-23", "2026-11-29"),
        ("Неделя", "2026-11-23", "2026-11-29"),
        ("today", "2026-11-25", "2026-11-25"),
        ("сегодня", "2026-11-25", "2026-11-25"),
        ("вчера", "2026-11-24", "2026-11-24"),
        ("yesterday", "2026-11-24", "2026-11-24"),
        ("месяц", "2026-11-01", "2026-11-30"),
        ("2026-02", "2026-02-01", "2026-02-28"),
        ("2026-12", "2026-12-01", "2026-12-31"),
        ("11.2026", "2026-11-01", "2026-11-30"),
        ("2026-11-05", "2026-11-05", "2026-11-05"),
        (" 2026-11-01..2026-11-15 ", "2026-11-01", "2026-11-15"),
    ],
)
def test_periods_parse(text, first, last):
    assert parse_span(text, TODAY) == Span(
        dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    )


@pytest.mark.parametrize(
    "text",
    [
        "завтра",
        "2026-13",
        "2026-02-30",
        "2026-11-15..2026-11-01",
        "2025-01-01..2026-11-01",
        "13.2026",
    ],
)
def test_bad_periods_are_refused(text):
    assert parse_span(text, TODAY) is None


# --- the indexes ---------------------------------------------------------------------------


async def test_migrated_indexes_match_the_models(db):
    """Migration 1 creates exactly the indexes the models declare (names and columns)."""
    connection = Tortoise.get_connection("default")
    if connection.capabilities.dialect != "sqlite":
        pytest.skip("reads sqlite_master")
    declared = {
        line.split(" ON ")[0].split('"')[1]
        for line in get_schema_sql(connection, safe=True).splitlines()
        if line.startswith("CREATE INDEX")
    }
    _, rows = await connection.execute_query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'"
    )
    assert {row["name"] for row in rows} == declared
    assert {"idx_appointment_lead_id", "idx_message_log_lead_at"} <= declared


# --- anomalies ---------------------------------------------------------------------------


async def _claims(row: Lead, staff_id: int, start: dt.datetime, days: int, count: int) -> None:
    step = dt.timedelta(days=days) / count
    await LeadEvent.bulk_create(
        LeadEvent(
            lead=row,
            at=start + step * i,
            actor=f"staff:{staff_id}",
            kind="claim",
            from_status="new",
            to_status="new",
        )
        for i in range(count)
    )


async def _entered(start: dt.datetime, days: int, leads: int, qualified: int) -> None:
    step = dt.timedelta(days=days) / leads
    for i in range(leads):
        row = await lead(start + step * i)
        if i < qualified:
            await LeadEvent.create(
                lead=row, at=start + step * i, actor="bot", from_status="new", to_status="qualified"
            )


async def test_anomalies_fire_once_with_the_numbers_and_not_for_small_samples(db, omsk):
    for tid, name in ((MASHA, "Маша"), (PETYA, "Петя")):
        await StaffMember.create(
            telegram_id=tid, role=StaffRole.MANAGER, name=name, created_at=at(1)
        )
    anchor = await lead(at(1, month=10))  # before both windows
    # trailing four weeks: Oct 19 – Nov 15; the last 7 days: Nov 16 – 22 (today is Nov 23)
    trailing, recent = at(19, 0, month=10), at(16, 0)
    await _claims(anchor, MASHA, trailing, 28, 100)  # 25 a week as a rule …
    await _claims(anchor, MASHA, recent, 7, 10)  # … 10 this week: 60 % fewer
    await _claims(anchor, PETYA, trailing, 28, 8)  # 2 a week: too few to judge
    await _entered(trailing, 28, 80, 60)  # new → qualified usually 75 %
    await _entered(recent, 7, 20, 5)  # this week 25 %: 67 % lower
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=OMSK).astimezone(dt.UTC)

    assert await queue_anomalies(omsk, T, frozenset({9001}), now) == 2
    assert await queue_anomalies(omsk, T, frozenset({9001}), now + dt.timedelta(hours=5)) == 0
    texts = sorted(r.payload["text"] for r in await Outbox.filter(kind="anomaly"))
    assert texts == [
        "⚠️ Маша взял(а) за 7 дней 10 заявок, обычно 25 в неделю (за 4 недели 100) — "
        "меньше на 60 %.",
        "⚠️ Просела конверсия «новая → квалифицирована»: за 7 дней 25,0 % (5 из 20), "
        "обычно 75,0 % (60 из 80 за 4 недели) — ниже на 67 %.",
    ]


# --- texts -------------------------------------------------------------------------------


def test_a_long_report_is_cut_to_one_telegram_message():
    text = reports.fit([f"• строка {i}: " + "x" * 90 for i in range(100)], T)
    assert len(text) <= 4096
    assert text.endswith("… (не поместилось, уточните период)")
    assert reports.fit(["a", "b"], T) == "a\nb"


def test_both_catalogs_have_every_report_text():
    ru_keys, en_keys = Texts("ru").keys(), Texts("en").keys()
    ru = {k for k in ru_keys if k.startswith("reports.")}
    assert ru == {k for k in en_keys if k.startswith("reports.")}
    assert "reports.summary.hint" in ru
