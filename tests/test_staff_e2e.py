"""Both bots against the fake Bot API over HTTP: alert → claim race → relay → confirm → outcome."""

from __future__ import annotations

import datetime as dt

from bot.models import Appointment, Lead, LeadEvent, MessageLog
from tests import staff_fixtures
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import book_in_telegram, has
from tests.staff_fixtures import ANNA, CLIENT, MASHA, PETYA, STAFF

bots = staff_fixtures.bots  # the fixture


async def test_lead_from_booking_to_visit(bots: FakeBotApi, clock):
    api, olga = bots, FakeUser(501, "Ольга")
    await book_in_telegram(api, CLIENT, olga)

    cards = [await api.wait_for_message(STAFF, m.id, has("Заявка #1")) for m in (MASHA, PETYA)]
    assert all("предзапись ждёт подтверждения" in c["text"] for c in cards)
    assert "Ольга, +79271234567" in cards[0]["text"] and "instagram / spring" in cards[0]["text"]

    for manager in (MASHA, PETYA):  # both press «Взять» at the same moment
        api.press_button(STAFF, manager, text="✋ Взять")
    won = await api.wait_for_call(STAFF, "sendMessage", lambda c: "ваша" in c.params["text"])
    winner, loser = (MASHA, PETYA) if won.chat_id == MASHA.id else (PETYA, MASHA)
    assert (await Lead.get(id=1)).manager_id == winner.id
    await api.wait_for_message(STAFF, loser.id, has(f"Взял(а): {winner.first_name}"))
    await api.wait_for_message(CLIENT, olga.id, has("подключился"))
    assert await LeadEvent.filter(kind="claim").count() == 1

    api.send_text(STAFF, winner, "Здравствуйте, Ольга! Удобно ли в 10:00?")
    await api.wait_for_message(CLIENT, olga.id, has("Удобно ли в 10:00"))
    api.send_text(CLIENT, olga, "Да, удобно, спасибо")
    await api.wait_for_message(STAFF, winner.id, has("#1 Ольга: Да, удобно"))
    api.send_photo(CLIENT, olga, caption="вот такой дизайн")
    await api.wait_for_call(STAFF, "sendPhoto", lambda c: c.chat_id == winner.id)
    api.send_photo(STAFF, winner, caption="пример работы")
    await api.wait_for_call(CLIENT, "sendPhoto", lambda c: c.chat_id == olga.id)

    card_id = cards[0 if winner is MASHA else 1]["message_id"]
    api.press_button(STAFF, winner, text="✅ Подтвердить", message_id=card_id)
    await api.wait_for_message(CLIENT, olga.id, has("Ваша запись подтверждена"))
    appointment = await Appointment.get()
    assert appointment.status == "confirmed"

    clock.set(appointment.end + dt.timedelta(minutes=1))
    await api.wait_for_message(STAFF, ANNA.id, has("Клиент пришёл?"))
    api.press_button(STAFF, ANNA, text="Пришёл")
    await api.wait_for_message(STAFF, ANNA.id, has("Сколько оплачено"))
    api.send_text(STAFF, ANNA, "1 700")
    await api.wait_for_message(STAFF, ANNA.id, has("оплачено 1\u00a0700\u00a0₽"))

    appointment = await Appointment.get()
    assert (appointment.status, appointment.paid_kop) == ("came", 170000)
    events = (
        await LeadEvent.filter(lead_id=1).order_by("id").values_list("kind", "to_status", "actor")
    )
    assert events == [
        ("status", "new", "client"),
        ("status", "qualified", "bot"),
        ("claim", "qualified", f"staff:{winner.id}"),
        ("status", "confirmed", f"staff:{winner.id}"),
        ("status", "came", f"staff:{ANNA.id}"),
    ]
    relayed = await MessageLog.filter(author=f"staff:{winner.id}").count()
    assert relayed == 2
