"""A master's sick day displaces three visits: one client takes another master, one another
time, one never answers and lands on the managers' call list. End to end over the fake Bot
API, the worker's tick flagging on a moved clock."""

from __future__ import annotations

import datetime as dt

from bot.booking import reshuffle
from bot.booking.booker import Booker
from bot.booking.schedule import Change, add_override, undo_override
from bot.booking.slots import Slot
from bot.i18n import Texts
from bot.models import Appointment, Client, Outbox, StaffRole
from bot.schedule_models import OverrideKind, Reshuffle, ScheduleOverride
from bot.staffwork.booking import StaffSource, book_for_client
from tests import staff_fixtures
from tests.conftest import SAMARA
from tests.fakes.bot_api import FakeUser
from tests.flows import book_in_telegram
from tests.staff_fixtures import ANNA, CLIENT, KSENIA, LENA, MASHA, PETYA, Desk

desk = staff_fixtures.desk  # the fixture
open_desk = staff_fixtures.open_desk
VERA = FakeUser(503, "Вера")
TUE = dt.date(2026, 11, 24)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SAMARA).astimezone(dt.UTC)


async def three_visits_with_anna(desk: Desk) -> list[Appointment]:
    """Three clients book tomorrow's first manicure slot while Ольга is blocked: all Анна."""
    olga_off = Change("olga", OverrideKind.BLOCK, at(TUE, 10), at(TUE, 21))
    row, _ = await add_override(
        desk.config, olga_off, MASHA.id, StaffRole.MANAGER, None, desk.clock.now()
    )
    visits = []
    for client, phone in ((KSENIA, "79271234567"), (LENA, "79272345678"), (VERA, "79273456789")):
        await book_in_telegram(desk.api, CLIENT, client, phone=phone)
        visits.append(await Appointment.all().order_by("-id").first())
    await undo_override(
        row.id, MASHA.id, StaffRole.MANAGER, None, desk.clock.now(), config=desk.config
    )
    assert [v.master_id for v in visits] == ["anna"] * 3
    return visits


def offer(message: dict, word: str) -> str:
    """The label of the offered alternative whose text contains `word`."""
    labels = [row[0]["text"] for row in message["reply_markup"]["inline_keyboard"]]
    return next(label for label in labels if word in label)


async def test_sick_day_moves_three_visits(desk: Desk, clock):
    k_visit, l_visit, v_visit = await three_visits_with_anna(desk)
    marks = {c.id: desk.client_mark(c) for c in (KSENIA, LENA, VERA)}

    desk.say(ANNA, "/sick завтра температура")
    preview = await desk.sees(ANNA, "затронет записи (3)")
    assert preview["text"].count("Маникюр, Анна") == 3
    assert await ScheduleOverride.filter(kind="sick").count() == 0  # nothing before «Да»
    desk.tap(ANNA, "✅ Да, изменить", preview)
    await desk.sees(ANNA, "Клиентам отправлены варианты: 3")

    asked = {}
    for client in (KSENIA, LENA, VERA):
        asked[client.id] = await desk.api.wait_for_message(
            CLIENT, client.id, lambda m, mark=marks[client.id]: m["message_id"] > mark
        )
        assert "не состоится" in asked[client.id]["text"]
    # Ксения: the same time with Ольга; Лена: another time with Анна (Wednesday)
    desk.api.press_button(CLIENT, KSENIA, text=offer(asked[KSENIA.id], "Ольга"))
    await desk.client_gets("Запись перенесена", KSENIA)
    desk.api.press_button(CLIENT, LENA, text=offer(asked[LENA.id], "Анна"))
    await desk.client_gets("Запись перенесена", LENA)

    moved_k = await Appointment.filter(client_id=k_visit.client_id).order_by("-id").first()
    assert (moved_k.master_id, moved_k.start) == ("olga", k_visit.start)
    moved_l = await Appointment.filter(client_id=l_visit.client_id).order_by("-id").first()
    assert moved_l.master_id == "anna" and moved_l.start.astimezone(SAMARA).date() > TUE

    # Вера never answers: two hours later the tick flags her visit for the managers
    clock.set(clock.now() + dt.timedelta(minutes=121))
    for manager in (MASHA, PETYA):
        alert = await desk.sees(manager, "не ответил на перенос")
        assert "Вера" in alert["text"]
    desk.say(MASHA, "/calls")
    calls = await desk.sees(MASHA, "Позвонить клиентам")
    assert "Вера" in calls["text"] and "Ксения" not in calls["text"]

    outcomes = dict(await Reshuffle.all().values_list("appointment_id", "outcome"))
    assert outcomes == {k_visit.id: "moved", l_visit.id: "moved", v_visit.id: "flagged"}
    statuses = dict(
        await Appointment.filter(id__in=[k_visit.id, l_visit.id, v_visit.id]).values_list(
            "id", "status"
        )
    )
    assert statuses[k_visit.id] == statuses[l_visit.id] == "cancelled"
    assert statuses[v_visit.id] != "cancelled"  # held until a manager calls: never lost


async def test_cancel_from_the_offer_ends_with_a_reason(desk: Desk):
    visits = await three_visits_with_anna(desk)
    mark = desk.client_mark(KSENIA)
    desk.say(MASHA, "/block Анна завтра 10:00-11:00 учёба")
    preview = await desk.sees(MASHA, "затронет записи (1)")
    desk.tap(MASHA, "✅ Да, изменить", preview)
    asked = await desk.client_gets_after(mark, KSENIA)
    desk.api.press_button(CLIENT, KSENIA, text="Отменить запись")
    await desk.client_gets("Запись отменена", KSENIA)
    assert (await Reshuffle.get(appointment_id=visits[0].id)).outcome == "cancelled"
    assert "не состоится" in asked["text"]


async def test_a_phone_only_client_is_flagged_for_a_call_at_once(desk: Desk):
    """No chat to ask in: the visit goes straight to the managers' call list."""
    start = at(TUE, 15)
    booked = await book_for_client(
        Booker(desk.config, desk.clock),
        Texts(),
        Slot(start, start + dt.timedelta(minutes=60), "anna"),
        "manicure",
        "+79275554433",
        "Лена Петрова",
        StaffSource.PHONE,
        MASHA.id,
        StaffRole.MANAGER,
    )
    desk.say(ANNA, "/block завтра 15:00-16:00")
    preview = await desk.sees(ANNA, "затронет записи (1)")
    assert "Лена Петрова +79275554433" in preview["text"]
    desk.tap(ANNA, "✅ Да, изменить", preview)
    await desk.sees(ANNA, "Позвонить нужно: 1")
    await desk.sees(MASHA, "не ответил на перенос")
    desk.say(PETYA, "/calls")
    calls = await desk.sees(PETYA, "Позвонить клиентам")
    assert "Лена Петрова" in calls["text"]
    assert (await Reshuffle.get(appointment_id=booked.appointment.id)).outcome == "flagged"
    desk.say(ANNA, "/calls")  # a master has no call list
    await desk.sees(ANNA, "недоступна")


async def test_a_visit_settled_elsewhere_is_not_flagged(db, config, clock):
    """Staff cancelled a displaced visit from its card: the tick closes it, no alert."""
    booker = Booker(config, clock)
    client = await Client.create(
        channel="telegram", channel_user_id="501", created_at=clock.now(), consent_at=clock.now()
    )
    start = at(TUE, 15)
    slot = Slot(start, start + dt.timedelta(minutes=60), "anna")
    visit = await booker.book(slot, config.service("manicure"), [], client, None)
    assert await reshuffle.ask_clients(booker, Texts(), frozenset(), 1, [visit]) == 1
    await booker.cancel(visit)
    clock.set(clock.now() + dt.timedelta(hours=3))
    assert await reshuffle.flag_unanswered(config, Texts(), frozenset(), clock.now()) == 0
    assert (await Reshuffle.get(appointment_id=visit.id)).outcome == "cancelled"
    assert await Outbox.filter(bot="staff").count() == 0
