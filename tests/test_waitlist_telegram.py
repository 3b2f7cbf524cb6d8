"""The waitlist and the confirmation calls end to end over the fake Bot API: both bots and
the embedded worker running, the clock moved by the test."""

from __future__ import annotations

import datetime as dt

from bot.dialogs import DialogService
from bot.models import Appointment, SlaBreach
from bot.staffwork.sla import deadlines
from bot.waitlist_models import ConfirmCall, WaitlistEntry
from tests import staff_fixtures
from tests.dialog_chat import Chat, reach, text
from tests.fakes.bot_api import FakeUser
from tests.flows import book_in_telegram, has
from tests.staff_fixtures import CLIENT, KSENIA, LENA, MASHA, OWNER, PETYA, Desk
from tests.waitlist_helpers import TUE, at, block, full_tuesday

desk = staff_fixtures.desk  # the fixture
open_desk = staff_fixtures.open_desk
VERA, IRA = FakeUser(503, "Вера"), FakeUser(504, "Ира")


async def join_in_telegram(desk: Desk, user: FakeUser) -> None:
    api = desk.api
    api.send_command(CLIENT, user, "/start")
    await api.wait_for_message(CLIENT, user.id, has("152-ФЗ"))
    api.press_button(CLIENT, user, text="✅ Согласен")
    await api.wait_for_message(CLIENT, user.id, has("Какая услуга"))
    api.press_button(CLIENT, user, text="Маникюр")
    await api.wait_for_message(CLIENT, user.id, has("Добавить к услуге"))
    api.press_button(CLIENT, user, text="Нет, спасибо")
    await api.wait_for_message(CLIENT, user.id, has("Когда вам удобно"))
    api.press_button(CLIENT, user, text="Завтра")
    await api.wait_for_message(CLIENT, user.id, has("свободных окон нет"))
    api.press_button(CLIENT, user, text="🔔 Встать в лист ожидания")
    await api.wait_for_message(CLIENT, user.id, has("Вы в листе ожидания"))


async def test_three_wait_the_line_moves_on_and_the_late_one_hears_taken(desk: Desk, clock):
    await full_tuesday(clock.now())
    await book_in_telegram(desk.api, CLIENT, KSENIA)  # the only Tuesday slot: Анна 10:00
    for user in (LENA, VERA, IRA):
        await join_in_telegram(desk, user)
    marks = {u.id: desk.client_mark(u) for u in (LENA, VERA, IRA)}

    desk.api.press_button(CLIENT, KSENIA, text="Мои записи")
    await desk.client_gets("Ваши записи", KSENIA)
    desk.api.press_button(CLIENT, KSENIA, text="Отменить запись 24.11 10:00")
    await desk.client_gets("Запись отменена", KSENIA)

    to_lena = await desk.client_gets("Освободилось время", LENA)
    assert "Анна" in to_lena["text"] and "10:00" in to_lena["text"]
    clock.advance(minutes=desk.config.waitlist.offer_minutes + 1)  # Лена is silent
    await desk.client_gets("Освободилось время", VERA)
    desk.api.press_button(CLIENT, VERA, text="✅ Записаться")
    await desk.client_gets("Заявка принята", VERA)
    desk.api.press_button(CLIENT, LENA, text="✅ Записаться", message_id=to_lena["message_id"])
    await desk.client_gets("уже занято", LENA)

    assert not [m for m in desk.api.sent(CLIENT, IRA.id) if m["message_id"] > marks[IRA.id]]
    booked = await Appointment.get(start=at(TUE, 10), status="pending")
    assert booked.client_id == (await WaitlistEntry.get(status="booked")).client_id
    assert await WaitlistEntry.filter(status="waiting").count() == 2  # Лена and Ира


async def book_tuesday_at_two(desk: Desk, user: FakeUser, master: str = "anna") -> Appointment:
    """A visit on Tuesday at 14:00 (its last reminder, 2 h before, falls in working time)."""
    chat = Chat(DialogService(desk.config, desk.clock), user.id, user.first_name)
    await reach(chat, "slot")
    minutes = int(at(TUE, 14).timestamp()) // 60
    await chat.press(f"slot:{master}:{minutes}")
    await chat.share_contact("+79271234567")
    await chat.press("name:me")
    assert "Заявка принята" in text(await chat.press("confirm"))
    return await Appointment.get(start=at(TUE, 14), master_id=master)


async def test_a_visit_unconfirmed_at_its_last_reminder_becomes_a_call_task_on_the_sla_clock(
    desk: Desk, clock
):
    visit = await book_tuesday_at_two(desk, KSENIA)
    confirmed = await book_tuesday_at_two(desk, LENA, "olga")
    confirmed.client_confirmed_at = clock.now()
    await confirmed.save(update_fields=["client_confirmed_at"])

    clock.set(at(TUE, 12, 0) + dt.timedelta(seconds=30))  # the 2-hour reminder is due
    await desk.client_gets("напоминаем о визите", KSENIA)
    for manager in (MASHA, PETYA):
        task = await desk.sees(manager, "не подтвердил визит")
        assert "Ксения" in task["text"]
        labels = [b["text"] for row in task["reply_markup"]["inline_keyboard"] for b in row]
        assert "📞 Перезвонить" in labels
    assert [c.appointment_id for c in await ConfirmCall.all()] == [visit.id]

    clock.set(at(TUE, 12, 16))  # 15 working minutes and nobody called
    for user in (OWNER, MASHA):
        await desk.sees(user, "с неподтверждённым визитом не позвонили")
    assert await SlaBreach.filter(kind="confirm_call").count() == 1


async def test_a_call_recorded_stops_the_sla_clock(desk: Desk, clock):
    visit = await book_tuesday_at_two(desk, KSENIA)
    clock.set(at(TUE, 12, 0) + dt.timedelta(seconds=30))
    task = await desk.sees(MASHA, "не подтвердил визит")
    desk.tap(MASHA, "📞 Перезвонить", task)
    number = await desk.sees(MASHA, "позвоните по номеру")
    desk.tap(MASHA, "✅ Перезвонил", number)
    outcomes = await desk.sees(MASHA, "чем закончился звонок")
    desk.tap(MASHA, outcomes["reply_markup"]["inline_keyboard"][0][0]["text"], outcomes)
    await desk.sees(MASHA, "записан")
    clock.set(at(TUE, 12, 30))  # past the deadline: the recorded call met it
    assert "confirm_call" not in [d.kind for d in await deadlines(desk.config, clock.now())]
    assert await SlaBreach.filter(kind="confirm_call").count() == 0
    assert await ConfirmCall.filter(appointment_id=visit.id).exists()


async def test_cancel_from_the_reminder_frees_the_slot_to_the_waitlist_at_once(desk: Desk, clock):
    visit = await book_tuesday_at_two(desk, KSENIA)
    now = clock.now()  # from now nothing else fits Tuesday: Анна works 14–15 only, for Ксения
    await block("olga", at(TUE, 10), at(TUE, 21), now)
    await block("anna", at(TUE, 10), at(TUE, 14), now)
    await block("anna", at(TUE, 15), at(TUE, 21), now)
    await join_in_telegram(desk, VERA)
    clock.set(at(TUE, 12, 0) + dt.timedelta(seconds=30))
    reminder = await desk.client_gets("напоминаем о визите", KSENIA)
    desk.api.press_button(CLIENT, KSENIA, text="Отменить", message_id=reminder["message_id"])
    await desk.client_gets("Запись отменена", KSENIA)
    offer = await desk.client_gets("Освободилось время", VERA)
    assert "14:00" in offer["text"]
    assert (await Appointment.get(id=visit.id)).status == "cancelled"
