"""/book in the staff bot, end to end over the fake Bot API: a phone client, a walk-in, a
client known on a messenger, bad phones, and a race with a chat client for the same slot."""

from __future__ import annotations

import datetime as dt

from bot.booking.schedule import Change, add_override
from bot.models import Appointment, Client, Lead, LeadEvent, Outbox, StaffRole
from bot.numbers import kpi
from bot.schedule_models import OverrideKind
from tests import staff_fixtures
from tests.conftest import SAMARA
from tests.flows import book_in_telegram
from tests.staff_fixtures import ANNA, CLIENT, KSENIA, MASHA, Desk

desk = staff_fixtures.desk  # the fixture
open_desk = staff_fixtures.open_desk
MON, TUE = dt.date(2026, 11, 23), dt.date(2026, 11, 24)


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=SAMARA).astimezone(dt.UTC)


async def start_booking(desk: Desk, staff, contact: str, source: str = "📞 Позвонил") -> dict:
    """/book → «Маникюр» → the first slot → the contact → the source: the summary."""
    desk.say(staff, "/book")
    await desk.sees(staff, "Какая услуга")
    desk.tap(staff, "Маникюр")
    slots = await desk.sees(staff, "ближайшее свободное время")
    desk.tap(staff, slots["reply_markup"]["inline_keyboard"][0][0]["text"], slots)
    await desk.sees(staff, "телефон и имя")
    desk.say(staff, contact)
    await desk.sees(staff, "Откуда клиент")
    desk.tap(staff, source)
    return await desk.sees(staff, "Проверьте запись")


async def test_manager_books_a_phone_client_while_a_chat_client_races(desk: Desk):
    api = desk.api
    await book_in_telegram(api, CLIENT, KSENIA, confirm=False)  # at the summary: tomorrow 10:00
    today = Change("anna", OverrideKind.DAY_OFF, at(MON, 0), at(TUE, 0))  # Анна is off today:
    await add_override(desk.config, today, MASHA.id, StaffRole.MANAGER, None, desk.clock.now())
    summary = await start_booking(desk, MASHA, "+7 (927) 555-44-33 Лена Петрова")
    assert "Лена Петрова, +79275554433" in summary["text"] and "звонок" in summary["text"]
    assert "вт, 24 ноября, 10:00, Анна" in summary["text"]  # the nearest slot: Ксения's

    client_mark = desk.client_mark()
    desk.tap(MASHA, "✅ Записать", summary)  # both press at the same moment
    api.press_button(CLIENT, KSENIA, text="✅ Подтвердить запись")
    reply = await desk.client_gets_after(client_mark)
    if "заняли" in reply["text"]:  # the client lost: she gets the nearest other slots
        await desk.sees(MASHA, "Записано")
    else:  # the manager lost: she gets other free times
        await desk.sees(MASHA, "только что заняли")
    active = await Appointment.filter(status__in=("pending", "confirmed")).all()
    assert len(active) == 1

    if active[0].client_id is None:  # Маша won: a phone-only client, a lead from `phone`
        lead = await Lead.get(id=active[0].lead_id)
        person = await Client.get(id=lead.client_id)
        assert (lead.source, lead.status, lead.manager_id) == ("phone", "confirmed", MASHA.id)
        assert (person.channel, person.phone, person.name) == (
            "phone",
            "+79275554433",
            "Лена Петрова",
        )
        assert person.consent_policy_version == "contract:staff"
        assert active[0].status == "confirmed"
        events = await LeadEvent.filter(lead_id=lead.id).values_list("to_status", "actor")
        assert events == [("new", f"staff:{MASHA.id}"), ("confirmed", f"staff:{MASHA.id}")]


async def test_a_known_client_gets_the_booking_in_her_chat(desk: Desk):
    await desk.book(KSENIA)  # Ксения booked in Telegram with +79271234567
    summary = await start_booking(desk, MASHA, "8 927 123-45-67 Ксения", "🚶 Пришёл в салон")
    assert "пишет нам в telegram" in summary["text"]
    desk.tap(MASHA, "✅ Записать", summary)
    await desk.sees(MASHA, "Записано")
    await desk.client_gets("Вы записаны")
    latest = await Appointment.all().order_by("-id").first()
    ksenia = await Client.get(channel="telegram", channel_user_id=str(KSENIA.id))
    assert latest.client_id == ksenia.id
    lead = await Lead.get(id=latest.lead_id)
    assert (lead.source, lead.client_id) == ("walk_in", ksenia.id)
    assert await Outbox.filter(kind="confirmation", appointment_id=latest.id).count() == 1
    assert await Client.filter(channel="phone").count() == 0
    day = kpi.Period.day(desk.config, MON)  # a staff lead counts like any other lead
    assert await kpi.leads_in(day) == 2
    walk_in = next(r for r in await kpi.sources(day) if r.source == "walk_in")
    assert (walk_in.leads, walk_in.bookings) == (1, 1)


async def test_bad_contacts_get_specific_answers(desk: Desk):
    desk.say(ANNA, "/book")
    services = await desk.sees(ANNA, "Какая услуга")
    titles = [row[0]["text"] for row in services["reply_markup"]["inline_keyboard"]]
    assert titles == ["Маникюр", "Педикюр"]  # a master books only her own services
    desk.tap(ANNA, "Маникюр")
    slots = await desk.sees(ANNA, "ближайшее свободное время")
    labels = [row[0]["text"] for row in slots["reply_markup"]["inline_keyboard"]]
    assert labels and all(label.endswith("Анна") for label in labels)
    desk.tap(ANNA, labels[0], slots)
    await desk.sees(ANNA, "телефон и имя")
    desk.say(ANNA, "12345 Лена")
    await desk.sees(ANNA, "не похоже на номер")
    desk.say(ANNA, "+7 927 555-44-33")
    await desk.sees(ANNA, "Добавьте имя")
    assert await Appointment.all().count() == 0
    # an abandoned /book stops catching her messages after half an hour
    desk.clock.set(desk.clock.now() + dt.timedelta(minutes=31))
    desk.say(ANNA, "+7 927 555-44-33 Лена")
    await desk.settle()
    assert not any("Откуда клиент" in text for text in desk.texts_to(ANNA))
