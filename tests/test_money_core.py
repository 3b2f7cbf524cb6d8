"""Money in the core: typed amounts and periods, spend proration, payroll and ROI worked
examples, and the export files — every expected value computed by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from bot.i18n import Texts
from bot.models import AdSpend, RoiBaseline
from bot.numbers import export
from bot.numbers.ad_spend import month_spend, set_spend, spend_by_source
from bot.numbers.amounts import parse_percent, parse_rubles, percent_text
from bot.numbers.kpi import Period
from bot.numbers.payroll import payslip, payslips
from bot.numbers.roi import RoiInputError, RoiReport, baseline_revenue_kop, parse_setup, roi_report
from bot.periods import PeriodError, parse_month, parse_period
from tests import test_kpi
from tests.money_data import (
    MASHA_ID,
    add_client,
    add_lead,
    add_visit,
    local,
    money_config,
    november_pay_data,
)

TODAY = dt.date(2026, 11, 23)  # a Monday
db = test_kpi.db  # SQLite, and PostgreSQL too when PRIYOM_TEST_POSTGRES_URL is set


@pytest.fixture
def cfg():
    return money_config()


# --- typed input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kop"),
    [("15000", 1500000), ("15 000", 1500000), ("15000.50", 1500050), ("15 000,5", 1500050),
     ("0", 0), ("1 500 ₽", 150000), ("99,99 руб", 9999)],
)  # fmt: skip
def test_rubles(text, kop):
    assert parse_rubles(text) == kop


@pytest.mark.parametrize("text", ["", "abc", "-5", "1,234", "12.345", "1e3x", "NaN", "2e9"])
def test_bad_rubles(text):
    with pytest.raises(ValueError):
        parse_rubles(text)


def test_percent():
    assert parse_percent("18") == 1800
    assert parse_percent("18,5 %") == 1850
    assert percent_text(1850) == "18,5 %" and percent_text(2000) == "20 %"
    for bad in ("101", "-1", "abc"):
        with pytest.raises(ValueError):
            parse_percent(bad)
    with pytest.raises(ValueError):
        parse_percent("100", below_100=True)


def test_months_and_periods(cfg):
    assert parse_month("", TODAY) == (2026, 11)
    assert parse_month("2026-10", TODAY) == (2026, 10)
    assert parse_month("3.2027", TODAY) == (2027, 3)
    for bad in ("2026-13", "ноябрь", "2026-11-01", "1999-01"):
        with pytest.raises(PeriodError) as caught:
            parse_month(bad, TODAY)
        assert caught.value.key == "money.bad_month"
    # Samara is UTC+4: local midnight of Nov 1 is Oct 31 20:00 UTC.
    nov = Period(
        dt.datetime(2026, 10, 31, 20, tzinfo=dt.UTC), dt.datetime(2026, 11, 30, 20, tzinfo=dt.UTC)
    )
    assert parse_period("", cfg, TODAY) == nov
    assert parse_period("month", cfg, TODAY) == nov
    assert parse_period("2026-11", cfg, TODAY) == nov
    assert parse_period("today", cfg, TODAY) == Period.day(cfg, TODAY)
    assert parse_period("вчера", cfg, TODAY) == Period.day(cfg, dt.date(2026, 11, 22))
    assert parse_period("week", cfg, dt.date(2026, 11, 26)) == Period.week(cfg, TODAY)
    assert parse_period("2026-11-05", cfg, TODAY) == Period.day(cfg, dt.date(2026, 11, 5))
    assert parse_period("2026-11-01..2026-11-15", cfg, TODAY) == Period.between(
        cfg, dt.date(2026, 11, 1), dt.date(2026, 11, 15)
    )
    for bad in ("2026-11-15..2026-11-01", "вчера..завтра", "2026-13", "прошлый год"):
        with pytest.raises(PeriodError) as caught:
            parse_period(bad, cfg, TODAY)
        assert caught.value.key == "money.bad_period"


# --- spend -----------------------------------------------------------------------------------


async def test_spend_upsert_and_proration(db, cfg, clock):
    now = clock.now()
    first = await set_spend(cfg, "instagram", 2026, 11, 1500000, 9001, now)
    assert first.previous_kop is None
    again = await set_spend(cfg, "instagram", 2026, 11, 1500050, 9002, now)
    assert (again.month, again.previous_kop) == ("2026-11", 1500000)
    await set_spend(cfg, "vk", 2026, 11, 300000, 9001, now)
    await set_spend(cfg, "vk", 2026, 12, 310000, 9001, now)
    rows = await AdSpend.filter(source="instagram").values("amount_kop", "entered_by")
    assert rows == [{"amount_kop": 1500050, "entered_by": 9002}]  # corrected, not added
    assert await month_spend(2026, 11) == {"instagram": 1500050, "vk": 300000}

    nov = Period.month(cfg, 2026, 11)
    assert await spend_by_source(nov) == {"instagram": 1500050, "vk": 300000}
    # Nov 1-15 is 15 of 30 days: half of each (1 500 050 / 2 = 750 025 exactly).
    half = Period.between(cfg, dt.date(2026, 11, 1), dt.date(2026, 11, 15))
    assert await spend_by_source(half) == {"instagram": 750025, "vk": 150000}
    # Nov 16 - Dec 5: vk 15/30 × 300 000 + 5/31 × 310 000 = 150 000 + 50 000.
    across = Period.between(cfg, dt.date(2026, 11, 16), dt.date(2026, 12, 5))
    assert await spend_by_source(across) == {"instagram": 750025, "vk": 200000}
    # One day of 30: 1 500 050 / 30 = 50 001,67 → 50 002 (half up per source and month).
    day = Period.day(cfg, dt.date(2026, 11, 3))
    assert (await spend_by_source(day))["instagram"] == 50002
    assert await spend_by_source(Period.month(cfg, 2027, 1)) == {}


# --- payroll ---------------------------------------------------------------------------------


async def test_payroll_worked_example(db, cfg):
    await november_pay_data()
    masha, petya = await payslips(list(cfg.payroll), Period.month(cfg, 2026, 11))
    # Маша: 5 bookings − plan 3 = 2 × 1 000 ₽ = 2 000 ₽; sales 12 500,50 − 10 000 = 2 500,50
    # × 5 % = 125,025 → 125,03 ₽ (half up); 20 000 + 2 000 + 125,03 = 22 125,03 ₽.
    assert (masha.bookings, masha.extra_bookings, masha.bonus_kop) == (5, 2, 200000)
    assert (masha.sales_kop, masha.sales_above_kop, masha.percent_kop) == (1250050, 250050, 12503)
    assert masha.total_kop == 2212503
    # Петя: 1 booking, below the plan of 2 → no bonus; sales 3 000 below 5 000 → no percent.
    assert (petya.bookings, petya.extra_bookings, petya.bonus_kop) == (1, 0, 0)
    assert (petya.sales_kop, petya.sales_above_kop, petya.percent_kop) == (300000, 0, 0)
    assert petya.total_kop == 1500000
    # An empty month: fixed pay only.
    (empty, _) = await payslips(list(cfg.payroll), Period.month(cfg, 2027, 2))
    assert (empty.bookings, empty.sales_kop, empty.total_kop) == (0, 0, 2000000)


def test_payslip_exactly_at_plan_and_target(cfg):
    plan = cfg.payroll[0]
    slip = payslip(plan, bookings=3, sales_kop=1000000)
    assert (slip.bonus_kop, slip.percent_kop, slip.total_kop) == (0, 0, 2000000)
    assert payslip(plan, 4, 1000001).percent_kop == 0  # 1 kopeck × 5 % = 0,05 → 0


# --- ROI -------------------------------------------------------------------------------------

SETUP = "leads=120 conversion=18 check=2500 noshow=20 oneoff=50000 monthly=5000"


def baseline(**changes) -> RoiBaseline:
    values = parse_setup(SETUP)
    values.update(changes)
    return RoiBaseline(**values, entered_by=1, entered_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))


def test_roi_setup_parsing():
    assert parse_setup(SETUP + " margin=40") == {
        "leads_per_month": 120,
        "conversion_bp": 1800,
        "check_kop": 250000,
        "no_show_bp": 2000,
        "oneoff_kop": 5000000,
        "monthly_kop": 500000,
        "margin_bp": 4000,
    }
    cases = {
        "leads=120": ("money.roi_missing", {"keys": "conversion, check, noshow, oneoff, monthly"}),
        SETUP + " colour=red": ("money.roi_unknown_key", {"part": "colour=red"}),
        SETUP + " oops": ("money.roi_unknown_key", {"part": "oops"}),
        SETUP.replace("=18 ", "=180 "): ("money.roi_bad.conversion", {"value": "180"}),
        SETUP.replace("leads=120", "leads=0"): ("money.roi_bad.leads", {"value": "0"}),
        SETUP.replace("check=2500", "check=дорого"): ("money.roi_bad.check", {"value": "дорого"}),
        SETUP.replace("noshow=20", "noshow=100"): ("money.roi_bad.noshow", {"value": "100"}),
        SETUP + " margin=0": ("money.roi_bad.margin", {"value": "0"}),
    }  # fmt: skip
    for text, (key, values) in cases.items():
        with pytest.raises(RoiInputError) as caught:
            parse_setup(text)
        assert (caught.value.key, caught.value.values) == (key, values), text


def test_roi_worked_example():
    base = baseline()
    # 120 × 18 % × (1 − 20 %) × 2 500 ₽ = 43 200 ₽ a month before Priyom.
    assert baseline_revenue_kop(base) == 4320000
    # Measured 93 200 ₽ → extra revenue = extra profit (no margin) = 50 000 ₽.
    report = RoiReport(base, 4320000, 9320000, 30)
    assert (report.extra_revenue_kop, report.extra_profit_kop) == (5000000, 5000000)
    # A year: gain 600 000, cost 50 000 + 12 × 5 000 = 110 000;
    # (600 000 − 110 000) / 110 000 × 100 = 445,45… → 445,5 %.
    assert (report.year_gain_kop, report.year_cost_kop) == (60000000, 11000000)
    assert report.roi_percent == Decimal("445.5")
    # Payback: 50 000 / (50 000 − 5 000) = 1,11… → 1,1 months.
    assert report.payback_months == Decimal("1.1")

    # margin 40 %: profit 20 000; (240 000 − 110 000) / 110 000 = 118,18… %; 50 000 / 15 000.
    margin = RoiReport(baseline(margin_bp=4000), 4320000, 9320000, 30)
    assert margin.extra_profit_kop == 2000000
    assert (margin.roi_percent, margin.payback_months) == (Decimal("118.2"), Decimal("3.3"))


def test_roi_zero_cost_and_no_gain():
    free = RoiReport(baseline(oneoff_kop=0, monthly_kop=0), 4320000, 9320000, 30)
    assert free.roi_percent is None  # nothing spent: nothing to divide by
    assert free.payback_months == Decimal("0.0")
    # 40 000 measured < 43 200 before: −3 200 a month, minus 5 000 → never pays back;
    # ROI (12 × −3 200 − 110 000) / 110 000 = −134,909… → −134,9 %.
    worse = RoiReport(baseline(), 4320000, 4000000, 12)
    assert worse.monthly_net_kop == -820000
    assert worse.payback_months is None
    assert worse.roi_percent == Decimal("-134.9")
    # Profit exactly equal to the monthly cost: zero net, still «—», no division error.
    even = RoiReport(baseline(), 4320000, 4820000, 12)
    assert (even.monthly_net_kop, even.payback_months) == (0, None)


async def test_roi_measures_the_month(db, cfg):
    await november_pay_data()
    report = await roi_report(baseline(), Period.month(cfg, 2026, 11))
    assert (report.measured_kop, report.visits) == (2250050, 5)


# --- export ----------------------------------------------------------------------------------


async def export_data() -> None:
    from bot.models import StaffMember, StaffRole

    await StaffMember.create(
        telegram_id=MASHA_ID, role=StaffRole.MANAGER, name="Маша", created_at=local(10, 1)
    )
    olga = await add_client(1, "Ольга")
    gone = await add_client(2, "Стёртая", erased=True)
    l1 = await add_lead(
        local(11, 3, 10), MASHA_ID, olga, source="instagram", campaign="spring", status="came"
    )
    l2 = await add_lead(local(11, 4, 23, 50), None, gone, source="vk", status="lost",
                        lost_reason="дорого")  # fmt: skip
    await add_lead(local(10, 31, 23, 59), None, olga)  # October: not exported
    await add_visit(l1, local(11, 5, 12), "came", "1500.01", client=olga)
    await add_visit(l2, local(11, 6, 9, 30), "cancelled", client=gone, master="olga")
    await add_visit(l1, local(12, 1, 0, 0), "confirmed", client=olga)  # December


async def test_export_files(db, cfg, monkeypatch):
    monkeypatch.setattr(export, "BATCH", 1)  # every row its own batch: paging is exercised
    await export_data()
    files = await export.build_export(cfg, Texts("ru"), Period.month(cfg, 2026, 11))
    assert (files.leads, files.appointments) == (2, 2)
    assert files.leads_csv.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    leads = list(csv.reader(io.StringIO(files.leads_csv.decode("utf-8-sig"))))
    assert leads == [
        ["id", "создана", "канал", "источник", "кампания", "статус", "причина потери",
         "менеджер", "клиент", "телефон"],
        ["1", "2026-11-03 10:00", "telegram", "instagram", "spring", "came", "", "Маша",
         "Ольга", "79270000001"],
        ["2", "2026-11-04 23:50", "telegram", "vk", "", "lost", "дорого", "", "", ""],
    ]  # fmt: skip
    visits = list(csv.reader(io.StringIO(files.appointments_csv.decode("utf-8-sig"))))
    assert visits[1:] == [
        ["1", "1", "2026-10-20 12:00", "instagram", "Маша", "Маникюр", "Анна",
         "2026-11-05 12:00", "came", "1500", "1500.01", "Ольга", "79270000001", "", ""],
        ["2", "2", "2026-10-20 12:00", "vk", "", "Маникюр", "Ольга", "2026-11-06 09:30",
         "cancelled", "1500", "", "", "", "", ""],
    ]  # fmt: skip

    book = openpyxl.load_workbook(io.BytesIO(files.xlsx))
    assert book.sheetnames == ["Заявки", "Записи"]
    sheet = [list(r) for r in book["Записи"].iter_rows(values_only=True)]
    assert sheet[0][:3] == ["id", "заявка", "создана"]
    assert sheet[1][7:13] == ["2026-11-05 12:00", "came", 1500, 1500.01, "Ольга", "79270000001"]
    assert sheet[2][10:] == [None] * 5  # not paid; the erased client is blank
    lead_rows = [list(r) for r in book["Заявки"].iter_rows(values_only=True)]
    assert [r[0] for r in lead_rows[1:]] == [1, 2]
    assert lead_rows[2][8:] == [None, None]
    assert export.file_stem(Period.month(cfg, 2026, 11), cfg) == "2026-11-01_2026-11-30"


async def test_export_of_an_empty_period(db, cfg):
    files = await export.build_export(cfg, Texts("en"), Period.day(cfg, TODAY))
    assert (files.leads, files.appointments) == (0, 0)
    assert files.leads_csv.decode("utf-8-sig").strip() == (
        "id,created,channel,source,campaign,status,lost reason,manager,client,phone"
    )
    assert openpyxl.load_workbook(io.BytesIO(files.xlsx)).sheetnames == ["Leads", "Appointments"]


def test_long_payroll_is_split_into_messages():
    from admin_bot.money import pack_messages

    blocks = ["a" * 2000, "b" * 2000, "c" * 100, "d" * 4000]
    out = pack_messages(blocks)
    assert out == ["a" * 2000 + "\n\n" + "b" * 2000, "c" * 100, "d" * 4000]
    assert all(len(m) <= 4096 for m in out)


def test_payroll_config_errors_name_the_key():
    import tomllib

    from bot.config import ConfigError, parse_config
    from tests.conftest import ROOT
    from tests.money_data import PLANS

    data = tomllib.loads((ROOT / "examples" / "salon.toml").read_text(encoding="utf-8"))
    for plans, message in (
        ([PLANS[0], PLANS[0]], "payroll: id '7001' is used twice"),
        ([{**PLANS[0], "sales_percent": 150}], "payroll[0].sales_percent"),
        ([{**PLANS[0], "fixed": -1}], "payroll[0].fixed"),
        ([{**PLANS[0], "bonus": 1}], "payroll[0].bonus"),
    ):
        with pytest.raises(ConfigError) as caught:
            parse_config({**data, "payroll": plans})
        assert message in str(caught.value)


async def test_export_never_writes_a_formula(db, cfg):
    evil = await add_client(3, '=HYPERLINK("http://x","жми")')
    evil.phone = "+79270000003"
    await evil.save()
    await add_lead(local(11, 3), None, evil, lost_reason="+7 дорого", campaign="@promo")
    files = await export.build_export(cfg, Texts("ru"), Period.month(cfg, 2026, 11))
    row = list(csv.reader(io.StringIO(files.leads_csv.decode("utf-8-sig"))))[1]
    assert row[4] == "'@promo" and row[6] == "'+7 дорого"
    assert row[8:] == ['\'=HYPERLINK("http://x","жми")', "+79270000003"]
    sheet = openpyxl.load_workbook(io.BytesIO(files.xlsx))["Заявки"]
    assert sheet["I2"].data_type == "s" and sheet["I2"].value.startswith("'=")
