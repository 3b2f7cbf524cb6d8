"""/spend, /payroll, /roi_setup, /roi and /export through the real aiogram staff dispatcher
against the fake Bot API: answers, stored rows, files sent, and who may use which."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from admin_bot.context import StaffContext
from bot.app import build_staff_dispatcher
from bot.models import AdSpend, RoiBaseline, StaffRole
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import has
from tests.money_data import (
    add_client,
    add_lead,
    add_visit,
    local,
    money_config,
    november_pay_data,
)
from tests.staff_fixtures import ANNA, MASHA, OWNER, PETYA, add_staff, add_team, polling

TOKEN = "222222:staff-bot"
STRANGER = FakeUser(666, "Незнакомец")
NOT_ALLOWED = "Эта команда вам недоступна."


class Staff:
    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    async def say(self, user: FakeUser, text: str, expect: str) -> str:
        head, _, args = text.partition(" ")
        self.api.send_command(TOKEN, user, head, args or None)
        return (await self.api.wait_for_message(TOKEN, user.id, has(expect)))["text"]

    def documents(self, user: FakeUser) -> dict[str, bytes]:
        calls = [c for c in self.api.calls(TOKEN, "sendDocument") if c.chat_id == user.id]
        return {c.files["document"].filename: c.files["document"].content for c in calls}


@pytest.fixture
async def staff(db, clock):
    await add_team(clock)
    ctx = StaffContext.create(money_config(), clock, [OWNER.id])
    async with FakeBotApi() as api, polling(api, TOKEN, build_staff_dispatcher(ctx)):
        yield Staff(api)


async def test_spend_entry_correction_and_list(staff: Staff):
    text = await staff.say(OWNER, "/spend instagram 15 000 2026-11", "Записал")
    assert text == "Записал: instagram, 2026-11 — 15 000 ₽."
    text = await staff.say(OWNER, "/spend Instagram 15000.50 2026-11", "Исправил")
    assert text == "Исправил: instagram, 2026-11 — 15 000,50 ₽ (было 15 000 ₽)."
    # No month: the current business month (the clock is 23 November 2026 in Samara).
    assert "vk, 2026-11 — 3 000 ₽" in await staff.say(OWNER, "/spend vk 3000", "Записал")
    await staff.say(OWNER, "/spend vk 1 000 11.2026", "Исправил")
    await staff.say(OWNER, "/spend yandex 700 2026-10", "Записал")
    rows = (
        await AdSpend.all()
        .order_by("source", "month")
        .values_list("source", "month", "amount_kop", "entered_by")
    )
    assert rows == [
        ("instagram", "2026-11", 1500050, OWNER.id),
        ("vk", "2026-11", 100000, OWNER.id),
        ("yandex", "2026-10", 70000, OWNER.id),
    ]
    listing = await staff.say(OWNER, "/spend", "Расходы на рекламу")
    assert listing.splitlines()[:7] == [
        "Расходы на рекламу, 2026-11:",
        "• Instagram (instagram) — 15 000,50 ₽",
        "• ВКонтакте (vk) — 1 000 ₽",
        "• Яндекс Карты (yandex) — —",
        "• Сайт (site) — —",
        "• Сарафанное радио (friend) — —",
        "Итого: 16 000,50 ₽",
    ]
    october = await staff.say(OWNER, "/spend 2026-10", "Расходы на рекламу")
    assert "Яндекс Карты (yandex) — 700 ₽" in october and "Итого: 700 ₽" in october


async def test_spend_bad_input_changes_nothing(staff: Staff):
    known = "instagram, vk, yandex, site, friend"
    text = await staff.say(OWNER, "/spend tiktok 100", "нет в настройках")
    assert text == f"Источника «tiktok» нет в настройках. Известные источники: {known}."
    for amount in ("12,345", "сто", "-5"):
        text = await staff.say(OWNER, f"/spend vk {amount} 2026-11", "не похожа на рубли")
        assert f"«{amount}»" in text
    assert "Не понял месяц" in await staff.say(OWNER, "/spend vk 100 2026-13", "месяц")
    assert "Как ввести расход" in await staff.say(OWNER, "/spend vk", "Как ввести")
    assert await AdSpend.all().count() == 0


async def test_money_commands_are_for_their_roles(staff: Staff, clock):
    for command in ("/spend vk 100", "/roi", "/roi_setup leads=1", "/export"):
        for user in (MASHA, ANNA):
            assert NOT_ALLOWED in await staff.say(user, command, NOT_ALLOWED)
    assert NOT_ALLOWED in await staff.say(ANNA, "/payroll", NOT_ALLOWED)
    assert "служебный бот" in await staff.say(STRANGER, "/payroll", "служебный бот")
    assert await AdSpend.all().count() == 0 and await RoiBaseline.all().count() == 0
    assert staff.documents(MASHA) == {} and staff.documents(ANNA) == {}


async def test_payroll_lines_per_role(staff: Staff):
    await november_pay_data()
    owner = await staff.say(OWNER, "/payroll 2026-11", "Зарплата за")
    assert owner == "\n".join(
        [
            "Зарплата за 2026-11",
            "",
            "👤 Маша",
            "Оклад: 20 000 ₽",
            "Записи: 5 − план 3 = 2 × 1 000 ₽ = 2 000 ₽",
            "Продажи: 12 500,50 ₽ − цель 10 000 ₽ = 2 500,50 ₽ × 5 % = 125,03 ₽",
            "Итого: 22 125,03 ₽",
            "",
            "👤 Петя",
            "Оклад: 15 000 ₽",
            "Записи: 1 − план 2 = 0 × 500 ₽ = 0 ₽",
            "Продажи: 3 000 ₽ − цель 5 000 ₽ = 0 ₽ × 10 % = 0 ₽",
            "Итого: 15 000 ₽",
        ]
    )
    own = await staff.say(MASHA, "/payroll", "Зарплата за")  # the current month: November
    assert "Маша" in own and "Итого: 22 125,03 ₽" in own and "Петя" not in own
    petya = await staff.say(PETYA, "/payroll 2026-11", "Зарплата за")
    assert "Маша" not in petya and "Итого: 15 000 ₽" in petya
    december = await staff.say(MASHA, "/payroll 2026-12", "Зарплата за")
    # December: A7 (came, 1 000 ₽) is Маша's only booking.
    assert "Записи: 1 − план 3 = 0 × 1 000 ₽ = 0 ₽" in december
    assert "Не понял месяц" in await staff.say(OWNER, "/payroll вчера", "Не понял")


async def test_payroll_for_a_manager_without_a_plan(staff: Staff, clock):
    vera = FakeUser(7003, "Вера")
    await add_staff(vera, StaffRole.MANAGER, clock)
    assert "нет плана оплаты" in await staff.say(vera, "/payroll", "плана")


async def test_roi_setup_and_report(staff: Staff):
    hint = await staff.say(OWNER, "/roi", "/roi_setup")
    assert hint.startswith("Чтобы посчитать окупаемость")
    error = await staff.say(OWNER, "/roi_setup leads=120 conversion=18", "Не хватает")
    assert error.startswith("Не хватает: check, noshow, oneoff, monthly.")
    error = await staff.say(
        OWNER,
        "/roi_setup leads=120 conversion=18 check=2500 noshow=200 oneoff=50000 monthly=5000",
        "noshow",
    )
    assert error.startswith("noshow: «200» — нужен процент от 0 до 100")
    assert await RoiBaseline.all().count() == 0
    setup = "leads=120 conversion=18 check=2500 noshow=20 oneoff=50000 monthly=5000"
    await staff.say(OWNER, f"/roi_setup {setup}", "Записал")
    # November: two paid visits, 50 000 + 43 200 = 93 200 ₽ (an October one is left out).
    visits = await add_lead(local(10, 20))
    await add_visit(visits, local(11, 3), "came", 50000)
    await add_visit(visits, local(11, 4), "came", 43200)
    await add_visit(visits, local(10, 30), "came", 99999)
    await add_visit(visits, local(11, 5), "no_show")
    report = await staff.say(OWNER, "/roi 2026-11", "Окупаемость Приёма")
    assert report.splitlines() == [
        "Окупаемость Приёма, 2026-11",
        "До Приёма: 120 заявок × 18 % в запись × (1 − 20 % неявок) × чек 2 500 ₽ "
        "= 43 200 ₽ в месяц",
        "Сейчас: оплачено визитов — 2, на 93 200 ₽",
        "Дополнительная выручка: 50 000 ₽ в месяц",
        "Дополнительная прибыль: 50 000 ₽ × маржа 100 % = 50 000 ₽ в месяц",
        "Стоимость: разово 50 000 ₽, в месяц 5 000 ₽",
        "ROI за год: (600 000 ₽ − 110 000 ₽) / 110 000 ₽ × 100 = 445,5 %",
        "Окупаемость: 50 000 ₽ / 45 000 ₽ в месяц = 1,1 мес.",
    ]
    # Entered again (free, with a margin): the newest entry counts, the old one stays.
    await staff.say(
        OWNER,
        f"/roi_setup {setup.replace('oneoff=50000 monthly=5000', 'oneoff=0 monthly=0')} margin=40",
        "Записал",
    )
    assert await RoiBaseline.all().count() == 2
    free = (await staff.say(OWNER, "/roi", "Окупаемость Приёма")).splitlines()
    assert free[4] == "Дополнительная прибыль: 50 000 ₽ × маржа 40 % = 20 000 ₽ в месяц"
    assert free[6] == "ROI: — (затрат нет, делить не на что)"
    assert free[7] == "Окупаемость: 0 ₽ / 20 000 ₽ в месяц = 0,0 мес."
    # A month below the baseline: never pays back, explained, no error.
    await staff.say(OWNER, f"/roi_setup {setup}", "Записал")
    october = (await staff.say(OWNER, "/roi 2026-10", "Окупаемость Приёма")).splitlines()
    assert october[3] == "Дополнительная выручка: 56 799 ₽ в месяц"
    december = (await staff.say(OWNER, "/roi 2026-12", "Окупаемость Приёма")).splitlines()
    assert december[3] == "Дополнительная выручка: -43 200 ₽ в месяц"
    assert december[6] == "ROI за год: (-518 400 ₽ − 110 000 ₽) / 110 000 ₽ × 100 = -571,3 %"
    assert december[7].startswith(
        "Окупаемость: — (прибыль за месяц минус ежемесячная стоимость = -48 200 ₽"
    )


async def test_export_sends_csv_and_xlsx(staff: Staff):
    olga = await add_client(1, "Ольга")
    gone = await add_client(2, "Стёртая", erased=True)
    l1 = await add_lead(local(11, 3, 10), 7001, olga, source="instagram")
    await add_lead(local(11, 4, 10), None, gone, source="vk")
    await add_visit(l1, local(11, 5, 12), "came", 1500, client=olga)
    staff.api.send_command(TOKEN, OWNER, "/export", "2026-11-01..2026-11-30")
    wait = await staff.api.wait_for_message(TOKEN, OWNER.id, has("Готовлю"))
    assert wait["text"] == "Готовлю файлы за 2026-11-01 — 2026-11-30…"
    sent = await staff.api.wait_for_message(TOKEN, OWNER.id, has("Выгрузка"))
    assert sent["caption"] == "Выгрузка: заявок 2, записей 1."
    files = staff.documents(OWNER)
    stem = "2026-11-01_2026-11-30"
    assert sorted(files) == [f"appointments_{stem}.csv", f"leads_{stem}.csv", f"priyom_{stem}.xlsx"]
    leads = list(csv.reader(io.StringIO(files[f"leads_{stem}.csv"].decode("utf-8-sig"))))
    assert [row[0] for row in leads] == ["id", "1", "2"]
    assert leads[1][1] == "2026-11-03 10:00" and leads[1][7:] == ["Маша", "Ольга", "79270000001"]
    assert leads[2][7:] == ["", "", ""]  # no manager; the erased client is blank
    book = openpyxl.load_workbook(io.BytesIO(files[f"priyom_{stem}.xlsx"]))
    visits = list(book["Записи"].iter_rows(values_only=True))
    assert visits[1][7:11] == ("2026-11-05 12:00", "came", 1500, 1500)
    bad = await staff.say(OWNER, "/export прошлый год", "Не понял период")
    assert bad.startswith("Не понял период")
