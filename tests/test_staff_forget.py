"""/forget <phone> in the staff bot: an owner erases a client who has no chat to ask from
(a phone booking) or who asked by phone — every copy, the visits ahead cancelled, over the
fake Bot API; managers cannot, and a forged press changes nothing."""

from __future__ import annotations

from admin_bot.forget import Forget
from bot.models import Appointment, Client, Conversation, Lead
from tests import staff_fixtures
from tests.staff_fixtures import KSENIA, MASHA, OWNER, STAFF, Desk
from tests.test_erasure import leftovers
from tests.test_staff_booking import start_booking

desk = staff_fixtures.desk  # the fixture
open_desk = staff_fixtures.open_desk
PHONE, NAME = "79275554433", "Лена Петрова"


async def book_by_phone(desk: Desk) -> Appointment:
    summary = await start_booking(desk, MASHA, f"+7 (927) 555-44-33 {NAME}")
    desk.tap(MASHA, "✅ Записать", summary)
    await desk.sees(MASHA, "Записано")
    return await Appointment.get(status="confirmed")


async def person_of(visit: Appointment) -> Client:
    """A staff booking names a phone client through its lead only."""
    return await Client.get(id=(await Lead.get(id=visit.lead_id)).client_id)


async def test_an_owner_erases_a_phone_client_and_frees_her_visit(desk: Desk):
    visit = await book_by_phone(desk)
    assert await leftovers(NAME, phone=PHONE)  # the scan sees her before
    desk.say(OWNER, "/forget 8 927 555 44 33")
    preview = await desk.sees(OWNER, "Удалить данные клиента +79275554433")
    assert "предстоящих визитов будет отменено: 1" in preview["text"]
    desk.tap(OWNER, "Удалить", preview)
    await desk.sees(OWNER, "Готово: данные клиента +79275554433 удалены")

    assert await leftovers(NAME, phone=PHONE) == []
    person = await person_of(visit)
    assert person.erased_at is not None and (person.name, person.phone) == (None, None)
    assert (await Appointment.get(id=visit.id)).status == "cancelled"
    assert (await Lead.get(id=visit.lead_id)).status == "lost"
    again = Forget(digits=PHONE, go=True).pack()  # a second press (a stale copy of the preview)
    notice = await desk.answer(desk.api.press_button(STAFF, OWNER, again, strict=False))
    assert "уже удалены" in notice.params["text"]


async def test_an_erasure_by_phone_reaches_the_clients_chat(desk: Desk):
    await desk.book(KSENIA)  # Ксения booked in Telegram with +79271234567
    desk.say(OWNER, "/forget +7 927 123-45-67")
    preview = await desk.sees(OWNER, "Удалить данные клиента +79271234567")
    desk.tap(OWNER, "Удалить", preview)
    await desk.sees(OWNER, "Готово")
    assert await leftovers("Ксения", phone="79271234567") == []
    assert not await Conversation.exists(chat_id=str(KSENIA.id))  # under its pseudonym now


async def test_bad_numbers_and_nobody_get_polite_answers(desk: Desk):
    desk.say(OWNER, "/forget")
    await desk.sees(OWNER, "/forget +79991234567")
    desk.say(OWNER, "/forget 12345")
    await desk.sees(OWNER, "не похоже на номер телефона")
    desk.say(OWNER, "/forget +7 999 123-45-67")
    await desk.sees(OWNER, "Клиентов с номером +79991234567 нет")


async def test_a_manager_cannot_erase_and_a_forged_press_changes_nothing(desk: Desk):
    visit = await book_by_phone(desk)
    desk.say(MASHA, "/forget +79275554433")
    await desk.settle()
    assert not any("Удалить данные" in t for t in desk.texts_to(MASHA))
    forged = Forget(digits=PHONE, go=True).pack()
    desk.api.press_button(STAFF, MASHA, forged, strict=False)
    await desk.settle()
    person = await person_of(visit)
    assert (person.phone, person.erased_at) == ("+79275554433", None)
    assert (await Appointment.get(id=visit.id)).status == "confirmed"
    bad = Forget(digits="7abc", go=True).pack()
    notice = await desk.answer(desk.api.press_button(STAFF, OWNER, bad, strict=False))
    assert "ничего не удаляю" in notice.params["text"]
    assert (await person_of(visit)).erased_at is None
