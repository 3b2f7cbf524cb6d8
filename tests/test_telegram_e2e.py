"""The real aiogram bot against a local fake Bot API server, over HTTP."""

from __future__ import annotations

import pytest

from bot.models import Appointment, Client, Lead, LeadEvent, MessageLog, StaffRole
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import CLIENT_TOKEN, book_in_telegram, has, polling_client
from tests.staff_fixtures import add_staff

TOKEN = CLIENT_TOKEN


@pytest.fixture
async def telegram(dialogs):
    """The client bot polling a fake Bot API; yields the fake."""
    async with polling_client(dialogs) as api:
        yield api


async def test_books_from_an_instagram_link_to_a_prebooking(telegram: FakeBotApi):
    api, olga = telegram, FakeUser(501, "Ольга")

    done = await book_in_telegram(api, TOKEN, olga)
    assert "вт, 24 ноября, 10:00" in done["text"]
    assert "Ленинградская" in done["text"] and "1\u00a0500\u00a0₽" in done["text"]

    lead = await Lead.get(source="instagram")
    assert (lead.campaign, lead.status) == ("spring", "qualified")
    events = (
        await LeadEvent.filter(lead=lead).order_by("id").values_list("from_status", "to_status")
    )
    assert events == [(None, "new"), ("new", "qualified")]
    client = await Client.get(id=lead.client_id)
    assert (client.name, client.phone) == ("Ольга", "+79271234567")
    appointment = await Appointment.get(lead=lead)
    assert (appointment.master_id, appointment.status, appointment.price_kop) == (
        "anna",
        "pending",
        150000,
    )
    assert await MessageLog.filter(direction="in").count() >= 9
    answered = api.calls(TOKEN, "answerCallbackQuery")
    assert len(answered) == 7  # every button press was answered


async def test_media_and_unknown_text_get_polite_hints(telegram: FakeBotApi, clock):
    api, ivan = telegram, FakeUser(502, "Иван")
    await add_staff(FakeUser(7001, "Маша"), StaffRole.MANAGER, clock)  # someone to hand off to
    api.send_command(TOKEN, ivan, "/start")
    await api.wait_for_message(TOKEN, ivan.id, has("152-ФЗ"))
    api.send_sticker(TOKEN, ivan)
    await api.wait_for_message(TOKEN, ivan.id, has("понимаю текст"))
    api.send_text(TOKEN, ivan, "согласен")
    await api.wait_for_message(TOKEN, ivan.id, has("Какая услуга"))
    api.send_voice(TOKEN, ivan)
    await api.wait_for_message(TOKEN, ivan.id, has("понимаю текст"))
    api.send_text(TOKEN, ivan, "абырвалг")
    await api.wait_for_message(TOKEN, ivan.id, has("Не нашёл такую услугу"))
    api.send_text(TOKEN, ivan, "ыыы")
    await api.wait_for_message(TOKEN, ivan.id, has("Передал ваш вопрос администратору"))
    lead = await Lead.get()
    assert lead.needs_human and lead.handoff_reason == "not_understood"


async def test_the_phone_step_keyboard_goes_back_and_restarts(telegram: FakeBotApi):
    """Issue 11, item 21: a message has one keyboard, so at the phone step «◂ Назад» and
    «Начать заново» sit under «Поделиться номером» and come back as text."""
    api, olga = telegram, FakeUser(503, "Ольга")
    api.send_command(TOKEN, olga, "/start")
    await api.wait_for_message(TOKEN, olga.id, has("152-ФЗ"))
    api.press_button(TOKEN, olga, text="✅ Согласен")
    await api.wait_for_message(TOKEN, olga.id, has("Какая услуга"))
    api.send_text(TOKEN, olga, "массаж в среду")
    slots = await api.wait_for_message(TOKEN, olga.id, has("Свободные окна"))
    first = slots["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    for _ in range(2):
        api.press_button(TOKEN, olga, first)
        await api.wait_for_message(TOKEN, olga.id, has("номер телефона"))
        keyboard = api.reply_keyboard(TOKEN, olga.id)["keyboard"]
        assert keyboard[0][0]["request_contact"] is True
        assert [b["text"] for b in keyboard[1]] == ["◂ Назад", "Начать заново"]
        api.send_text(TOKEN, olga, keyboard[1][0]["text"])
        await api.wait_for_message(TOKEN, olga.id, has("Свободные окна"))
    api.press_button(TOKEN, olga, first)
    await api.wait_for_message(TOKEN, olga.id, has("номер телефона"))
    api.send_text(TOKEN, olga, "Начать заново")
    await api.wait_for_message(TOKEN, olga.id, has("Какая услуга"))
    assert not (await Lead.get()).needs_human  # typed «Назад» twice is not two misses
