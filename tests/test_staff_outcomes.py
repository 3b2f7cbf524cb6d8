"""«Пришёл / Неявка» and the amount paid: never from a button, never before the visit.

Through both bots over the fake Bot API: Ксения's visit with Анна, whose master account
records the outcome (or tries to, with forged callback data).
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.models import Appointment, LeadEvent
from bot.staffwork.outcomes import MAX_PAID_KOP, parse_paid
from handlers.telegram import Act
from tests import staff_fixtures
from tests.staff_fixtures import ANNA, MASHA, Desk, action_rows, db_rows

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures


async def visit_over(desk: Desk) -> Appointment:
    """Ксения's visit with Анна is over and Анна was asked «Клиент пришёл?»."""
    visit = await desk.book()
    await desk.card(MASHA)
    desk.clock.set(visit.end + dt.timedelta(minutes=1))
    await desk.sees(ANNA, "Клиент пришёл?")
    return visit


async def refused(desk: Desk, action: str) -> str:
    answer = await desk.answer(desk.press(ANNA, action))
    assert answer.params.get("show_alert") is True, action
    return answer.params["text"]


@pytest.mark.parametrize(
    "forged",
    ["paid:{v}:-500000", "paid:{v}:99999999999", "paid:{v}:abc", "paid:-{v}", "came:{v}:1"],
)
async def test_an_amount_in_callback_data_is_refused(desk: Desk, forged: str):
    visit = await visit_over(desk)
    before = await db_rows()
    assert await refused(desk, forged.format(v=visit.id)) == "Эта кнопка устарела."
    await desk.settle()
    assert await db_rows() == before, "nothing changed"


async def test_the_buttons_carry_only_ids_and_the_price_comes_from_the_database(desk: Desk):
    visit = await visit_over(desk)
    desk.tap(ANNA, "Пришёл")
    offer = await desk.sees(ANNA, "Сколько оплачено?")
    (button,) = [b for row in offer["reply_markup"]["inline_keyboard"] for b in row]
    assert Act.unpack(button["callback_data"]).v == f"paid:{visit.id}"
    await Appointment.filter(id=visit.id).update(price_kop=123400)  # the price as it is now
    desk.tap(ANNA, button["text"], offer)
    await desk.sees(ANNA, "Отмечено: пришёл, оплачено 1\u00a0234\u00a0₽")
    visit = await Appointment.get(id=visit.id)
    assert (visit.status, visit.paid_kop) == ("came", 123400)


@pytest.mark.parametrize("action", ["came:{v}", "noshow:{v}", "paid:{v}"])
async def test_no_outcome_before_the_visit_starts(desk: Desk, action: str):
    visit = await desk.book()
    await desk.card(MASHA)
    desk.clock.set(visit.start - dt.timedelta(minutes=1))
    before = await action_rows()
    assert "Визит ещё не начался" in await refused(desk, action.format(v=visit.id))
    await desk.settle()
    assert await action_rows() == before, "nothing changed"
    desk.clock.set(visit.start)  # from its first minute on, it may be marked
    await desk.answer(desk.press(ANNA, f"noshow:{visit.id}"))
    assert (await Appointment.get(id=visit.id)).status == "no_show"


async def test_a_typed_amount_is_validated(desk: Desk):
    visit = await visit_over(desk)
    desk.tap(ANNA, "Пришёл")
    await desk.sees(ANNA, "Сколько оплачено?")
    for typed in ("-5000", "0", "2000000", "NaN", "1e5", "1500,555"):
        desk.say(ANNA, typed)
        await desk.settle()
        assert (await Appointment.get(id=visit.id)).status == "pending", typed
    assert sum("Не понял сумму" in t for t in desk.texts_to(ANNA)) == 6
    desk.say(ANNA, "1 500,50 ₽")
    await desk.sees(ANNA, "оплачено 1\u00a0500,50\u00a0₽")
    visit = await Appointment.get(id=visit.id)
    assert (visit.status, visit.paid_kop) == ("came", 150050)
    assert await LeadEvent.filter(lead_id=visit.lead_id, to_status="came").count() == 1


@pytest.mark.parametrize(
    ("text", "kopecks"),
    [
        ("1500", 150000),
        ("1 500", 150000),
        ("1500,5", 150050),
        ("1500.50 руб.", 150050),
        ("1\u00a0000\u00a0000 ₽", MAX_PAID_KOP),
        ("1000000,01", None),
        ("-1", None),
        ("0", None),
        ("0,00", None),
        ("", None),
        ("inf", None),
        ("1" * 5000, None),
    ],
)
def test_parse_paid(text: str, kopecks: int | None):
    assert parse_paid(text) == kopecks
