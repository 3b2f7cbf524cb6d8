"""Forged slot buttons: crafted callback data over the real Telegram path never books.

The client bot polls a local fake Bot API; the client sends a slot the bot never offered.
The booking re-checks it against the slot engine and answers as to a lost race: no
appointment, the nearest real slots offered instead.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.booking.booker import Booker
from bot.booking.slots import Slot
from bot.models import Appointment, MasterCell
from handlers.telegram import Act
from scenarios.keyboards import slot_action
from tests.conftest import SAMARA
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import CLIENT_TOKEN, has, polling_client

TOKEN = CLIENT_TOKEN
KSENIA = FakeUser(501, "Ксения")
HOUR = dt.timedelta(hours=1)  # a manicure without add-ons


@pytest.fixture
async def telegram(dialogs):
    async with polling_client(dialogs) as api:
        yield api


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SAMARA)


# Now is Monday 23 November 2026, 09:00 in Samara (the salon opens at 10:00); Анна does
# manicures, works 10:00-19:00 on weekdays and has 30 November off; Марина does no manicure.
FORGED = {
    "at 03:00": ("anna", local(2026, 11, 24, 3, 0)),
    "ten years ahead": ("anna", local(2036, 11, 25, 10, 0)),
    "off the 5-minute grid": ("anna", local(2026, 11, 24, 10, 3)),
    "on a master's day off": ("anna", local(2026, 11, 30, 10, 0)),
    "inside the lead time": ("anna", local(2026, 11, 23, 9, 30)),  # opens 10:00, see below
    "in the past": ("anna", local(2026, 11, 20, 12, 0)),
    "past closing": ("anna", local(2026, 11, 24, 18, 30)),  # 18:30-19:30, she leaves at 19
}


async def to_slot_step(api: FakeBotApi, user: FakeUser) -> dict:
    api.send_command(TOKEN, user, "/start")
    await api.wait_for_message(TOKEN, user.id, has("152-ФЗ"))
    api.press_button(TOKEN, user, text="✅ Согласен")
    await api.wait_for_message(TOKEN, user.id, has("Какая услуга"))
    api.press_button(TOKEN, user, text="Маникюр")
    await api.wait_for_message(TOKEN, user.id, has("Добавить к услуге"))
    api.press_button(TOKEN, user, text="Нет, спасибо")
    await api.wait_for_message(TOKEN, user.id, has("Когда вам удобно"))
    api.press_button(TOKEN, user, text="Завтра")
    return await api.wait_for_message(TOKEN, user.id, has("Свободные окна"))


async def book_forged(api: FakeBotApi, user: FakeUser, master_id: str, start: dt.datetime) -> dict:
    """Press a slot button the bot never showed, then go through to «Подтвердить запись»."""
    forged = slot_action(Slot(start.astimezone(dt.UTC), start + HOUR, master_id))
    api.press_button(TOKEN, user, Act(v=forged).pack(), strict=False)
    await api.wait_for_message(TOKEN, user.id, has("номер телефона"))
    api.share_contact(TOKEN, user, "79271234567")
    await api.wait_for_message(TOKEN, user.id, has("Как к вам обращаться"))
    api.press_button(TOKEN, user, text=user.first_name)
    await api.wait_for_message(TOKEN, user.id, has("Проверьте"))
    api.press_button(TOKEN, user, text="✅ Подтвердить запись")
    return await api.wait_for_message(TOKEN, user.id, has("только что заняли"))


@pytest.mark.parametrize("case", FORGED)
async def test_a_forged_slot_is_not_booked_and_real_ones_are_offered(
    telegram: FakeBotApi, clock, config, case: str
):
    master_id, start = FORGED[case]
    if case == "inside the lead time":
        clock.set(local(2026, 11, 23, 9, 45))
        start = local(2026, 11, 23, 10, 0)  # open, but only 15 minutes ahead (60 needed)
    await to_slot_step(telegram, KSENIA)

    taken = await book_forged(telegram, KSENIA, master_id, start)

    offered = await telegram.wait_for_message(
        TOKEN,
        KSENIA.id,
        lambda m: m["message_id"] > taken["message_id"] and m.get("reply_markup"),
    )
    assert await Appointment.all().count() == 0 and await MasterCell.all().count() == 0
    buttons = [b for row in offered["reply_markup"]["inline_keyboard"] for b in row]
    picked = [Act.unpack(b["callback_data"]).v for b in buttons]
    real = [p for p in picked if p.startswith("slot:")]
    assert real, offered
    today = clock.now().astimezone(SAMARA).date()
    engine = await Booker(config, clock).free_slots(
        config.service("manicure"), [], today, today + dt.timedelta(days=31)
    )
    offerable = {slot_action(s) for s in engine}
    assert set(real) <= offerable, "each alternative is a slot the engine itself offers"


async def test_a_real_slot_still_books(telegram: FakeBotApi):
    offered = await to_slot_step(telegram, KSENIA)
    first = offered["reply_markup"]["inline_keyboard"][0][0]
    telegram.press_button(TOKEN, KSENIA, first["callback_data"])
    await telegram.wait_for_message(TOKEN, KSENIA.id, has("номер телефона"))
    telegram.share_contact(TOKEN, KSENIA, "79271234567")
    await telegram.wait_for_message(TOKEN, KSENIA.id, has("Как к вам обращаться"))
    telegram.press_button(TOKEN, KSENIA, text=KSENIA.first_name)
    await telegram.wait_for_message(TOKEN, KSENIA.id, has("Проверьте"))
    telegram.press_button(TOKEN, KSENIA, text="✅ Подтвердить запись")
    await telegram.wait_for_message(TOKEN, KSENIA.id, has("Заявка принята"))
    assert await Appointment.all().count() == 1


async def test_a_master_who_does_not_do_the_service_is_refused_at_once(telegram: FakeBotApi):
    """The scenario itself refuses a slot of Марина (no manicures); the booking never runs."""
    offered = await to_slot_step(telegram, KSENIA)
    start = local(2026, 11, 24, 12, 0)  # Марина works then, but does not do manicures
    forged = slot_action(Slot(start.astimezone(dt.UTC), start + HOUR, "marina"))
    telegram.press_button(TOKEN, KSENIA, Act(v=forged).pack(), strict=False)
    hint = await telegram.wait_for_message(
        TOKEN, KSENIA.id, lambda m: m["message_id"] > offered["message_id"]
    )
    assert "номер телефона" not in hint["text"]
    assert await Appointment.all().count() == 0


async def test_the_booker_checks_the_length_with_add_ons_for_every_caller(db, config, clock):
    """Staff and other channels call the Booker directly: it checks the visit's length."""
    booker, manicure = Booker(config, clock), config.service("manicure")
    start = local(2026, 11, 24, 12, 0).astimezone(dt.UTC)
    with_gel = HOUR + dt.timedelta(minutes=30)  # the «gel» add-on takes 30 minutes
    assert (
        await booker.book(Slot(start, start + HOUR, "anna"), manicure, ["gel"], None, None) is None
    )
    assert (
        await booker.book(Slot(start, start + with_gel, "anna"), manicure, [], None, None) is None
    )
    assert await booker.book(Slot(start, start + HOUR, "marina"), manicure, [], None, None) is None
    booked = await booker.book(Slot(start, start + with_gel, "anna"), manicure, ["gel"], None, None)
    assert booked is not None and await Appointment.all().count() == 1
