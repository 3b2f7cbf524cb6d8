"""Owners edit the catalog in the staff bot: /services, buttons and typed values over the
fake Bot API; the changes apply to new bookings only, with an audit trail; bad values get
a specific polite answer; nobody but an owner can change anything."""

from __future__ import annotations

import datetime as dt

import pytest

from admin_bot.catalog import Svc
from bot.booking import catalog
from bot.models import Appointment
from bot.staff_models import CatalogAudit, ServiceOverride
from tests import staff_fixtures
from tests.flows import has
from tests.staff_fixtures import ANNA, CLIENT, LENA, MASHA, OWNER, STAFF, Desk
from tests.test_staff_booking import start_booking

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures


async def open_service(desk: Desk, title: str = "Маникюр") -> dict:
    desk.say(OWNER, "/services")
    listing = await desk.sees(OWNER, "Услуги сейчас")
    assert "Маникюр (manicure): 1\u00a0500\u00a0₽, 60 мин" in listing["text"]
    desk.tap(OWNER, f"✏️ {title}", listing)
    await desk.settle()
    return listing  # edited in place into the service's menu


async def type_value(desk: Desk, button: str, *values: str) -> list[str]:
    """Press a field's button, type each value; the bot's answers to the values."""
    desk.tap(OWNER, button)
    await desk.sees(OWNER, "Новая")
    answers = []
    for value in values:
        before = len(desk.texts_to(OWNER))
        desk.say(OWNER, value)
        await desk.settle()
        answers += [t for t in desk.texts_to(OWNER)[before:] if not t.startswith("Вы владелец")]
    return answers


async def test_a_new_price_applies_to_new_bookings_only(desk: Desk):
    old = await desk.book()  # Ксения, 1 500 ₽
    await open_service(desk)
    answers = await type_value(desk, "Цена", "0", "пятьсот", "1700")
    said = "\n".join(answers)
    assert "Цена не может быть нулевой" in said and "«пятьсот» не похоже на сумму" in said
    assert "цена 1\u00a0500\u00a0₽ → 1\u00a0700\u00a0₽" in said
    (audit,) = await CatalogAudit.all()
    assert (audit.service_id, audit.field, audit.before, audit.after, audit.by) == (
        "manicure",
        "price",
        "150000",
        "170000",
        OWNER.id,
    )
    new = await desk.book(LENA)
    assert (await Appointment.get(id=old.id)).price_kop == 150000, "a booked visit keeps its price"
    assert new.price_kop == 170000
    desk.say(OWNER, "/services")
    await desk.sees(OWNER, "Маникюр (manicure): 1\u00a0700\u00a0₽")


async def test_a_duration_off_the_grid_is_explained(desk: Desk):
    await open_service(desk)
    answers = await type_value(desk, "Длительность", "47", "90")
    said = "\n".join(answers)
    assert "кратна 5 минутам: 47 мин не подходит, можно 45 или 50" in said
    assert "длительность 60 → 90 мин" in said
    new = await desk.book(LENA)
    assert (new.end - new.start).total_seconds() == 90 * 60


async def test_masters_and_off_switch(desk: Desk):
    menu = await open_service(desk)
    desk.tap(OWNER, "Мастера", menu)
    await desk.settle()
    desk.tap(OWNER, "✅ Ольга", menu)
    await desk.settle()
    assert (await ServiceOverride.get(service_id="manicure")).masters == ["anna"]
    desk.tap(OWNER, "◀ Назад", menu)
    await desk.settle()
    desk.tap(OWNER, "Выключить", menu)
    await desk.settle()
    fields = await CatalogAudit.all().order_by("id").values_list("field", "before", "after")
    assert fields == [("masters", "anna,olga", "anna"), ("enabled", "on", "off")]
    # the client no longer gets it offered
    desk.api.send_command(CLIENT, LENA, "/start")
    await desk.api.wait_for_message(CLIENT, LENA.id, has("152-ФЗ"))
    desk.api.press_button(CLIENT, LENA, text="✅ Согласен")
    ask = await desk.api.wait_for_message(CLIENT, LENA.id, has("Какая услуга"))
    labels = [b["text"] for row in ask["reply_markup"]["inline_keyboard"] for b in row]
    assert "Маникюр" not in labels and "Педикюр" in labels


@pytest.mark.parametrize("user", [MASHA, ANNA])
async def test_only_owners_edit_the_catalog(desk: Desk, user):
    desk.say(user, "/services")
    await desk.sees(user, "Эта команда вам недоступна")
    for data in (Svc(id="manicure", op="enabled", arg="0"), Svc(id="manicure", op="price")):
        answer = await desk.answer(desk.api.press_button(STAFF, user, data.pack(), strict=False))
        assert answer.params.get("show_alert") is True
    desk.say(user, "1")  # not taken as a price: nobody asked them
    await desk.settle()
    assert await ServiceOverride.all().count() == 0 and await CatalogAudit.all().count() == 0


async def test_staff_book_and_move_with_the_edited_catalog(desk: Desk):
    """/book and «Перенести» read the owner's edits, as the client dialogue does."""
    await open_service(desk)
    await type_value(desk, "Длительность", "90")
    await catalog.change(desk.config, "manicure", "price", 170000, OWNER.id, desk.clock.now())
    summary = await start_booking(desk, MASHA, "+7 927 555-44-33 Лена")
    desk.tap(MASHA, "✅ Записать", summary)
    await desk.sees(MASHA, "Записано")
    visit = await Appointment.get(status="confirmed")
    assert (visit.end - visit.start, visit.price_kop) == (dt.timedelta(minutes=90), 170000)


async def test_a_switched_off_service_is_not_offered_in_staff_book(desk: Desk):
    menu = await open_service(desk)
    desk.tap(OWNER, "Выключить", menu)
    await desk.settle()
    desk.say(MASHA, "/book")
    services = await desk.sees(MASHA, "Какая услуга")
    titles = [row[0]["text"] for row in services["reply_markup"]["inline_keyboard"]]
    assert "Маникюр" not in titles and "Педикюр" in titles
