"""/forget erases every copy (152-FZ): a scan of every text and JSON column of every table
finds neither the client's name, nor their phone in any spelling, nor a line they wrote —
after a Telegram booking whose staff cards were sent and queued, and after a WhatsApp
booking, where the chat id itself is the phone number (and no log line shows it)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator

import pytest
from tortoise import Tortoise
from tortoise.fields import CharField, JSONField, TextField

from bot.booking.reminders import queue_due_reminders
from bot.logs import setup_logging
from bot.models import (
    Appointment,
    AppointmentStatus,
    Client,
    Conversation,
    DeliveryStatus,
    LeadEvent,
    Outbox,
    OutboxStatus,
)
from tests.fakes.bot_api import FakeUser
from tests.fakes.graph_api import text_of
from tests.flows import book_in_telegram, has
from tests.staff_fixtures import CLIENT, MASHA, PETYA, STAFF, add_team, running_bots
from tests.test_max import ANNA_ID as MAX_ID
from tests.test_max import book as book_in_max
from tests.test_max import max_rig, said
from tests.test_whatsapp import OLGA as WA_ID
from tests.test_whatsapp import book as book_in_whatsapp
from tests.whatsapp_helpers import text, webhook, whatsapp_rig

NAME, PHONE = "Ольга", "79271234567"
MAX_PHONE = "79271112233"  # what the MAX client shares as her contact
LINE = "Можно прийти вместе с дочкой Варей?"  # a line of the dialogue, relayed to staff
_DIGITS = re.compile(r"[\d\s()+\-]{10,}")


def has_phone(text: str, phone: str = PHONE) -> bool:
    """The number in any spelling: +7…, 8…, spaced, bracketed, digits only."""
    national = phone[-10:]
    return any(national in re.sub(r"\D", "", m.group()) for m in _DIGITS.finditer(text))


async def leftovers(*needles: str, chat_id: str = "", phone: str = PHONE) -> list[str]:
    """Every text, char or JSON value in every table that still holds the phone, a needle,
    or the chat id as a whole word (not inside a pseudonym's hex digits)."""
    chat = re.compile(rf"(?<![0-9a-fA-F]){chat_id}(?![0-9a-fA-F])") if chat_id else None
    found = []
    for app in Tortoise.apps.values():
        for model in app.values():
            columns = [
                name
                for name, field in model._meta.fields_map.items()
                if isinstance(field, CharField | TextField | JSONField)
            ]
            for row in await model.all().values(*columns) if columns else []:
                for column, value in row.items():
                    shown = (
                        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    )
                    lowered = shown.lower()
                    if (
                        has_phone(shown, phone)
                        or any(n.lower() in lowered for n in needles)
                        or (chat is not None and chat.search(shown))
                    ):
                        found.append(f"{model.__name__}.{column}: {shown[:120]}")
    return found


def test_the_scan_sees_every_spelling_of_the_phone():
    for spelling in ("+79271234567", "89271234567", "+7 (927) 123-45-67", "9271234567"):
        assert has_phone(f"Клиент: {spelling}, Telegram")
    assert not has_phone("2026-11-24 10:00, #79271")


# --- Telegram: the staff alert card, sent to one manager and queued for the other ----------


async def test_forget_leaves_no_copy_of_a_telegram_client(db, config, clock):
    olga = FakeUser(501, NAME)
    await add_team(clock)
    async with running_bots(config, clock) as api:
        api.fail_next("sendMessage", 500, token=STAFF)  # one card waits for its retry
        await book_in_telegram(api, CLIENT, olga, phone=PHONE)
        sent = await api.wait_for_call(
            STAFF, "sendMessage", lambda c: c.ok and "Заявка #1" in c.params["text"]
        )
        manager = MASHA if str(sent.chat_id) == str(MASHA.id) else PETYA
        card = await api.wait_for_message(STAFF, manager.id, has("Заявка #1"))
        assert NAME in card["text"] and "927" in card["text"]  # name, phone, dialogue lines
        api.press_button(STAFF, manager, text="✋ Взять", message_id=card["message_id"])
        await api.wait_for_message(STAFF, manager.id, has("ваша"))
        api.send_text(CLIENT, olga, LINE)
        await api.wait_for_message(STAFF, manager.id, has(LINE))
        cards = await Outbox.filter(kind="alert").values_list("status", flat=True)
        assert sorted(cards) == [OutboxStatus.PENDING, OutboxStatus.SENT]
        # a manager's note about her (typed free text) keeps its reason, not the person
        note = f"{NAME} передумала, перезвонить 8 (927) 123-45-67"
        event = await LeadEvent.filter(lead_id=1).order_by("id").first()
        await LeadEvent.filter(id=event.id).update(note=note)
        before = await leftovers(NAME, LINE)
        assert any(f.startswith("Outbox.payload") for f in before)  # the scan sees copies

        api.send_command(CLIENT, olga, "/forget")
        await api.wait_for_message(CLIENT, olga.id, has("Удалить ваши данные"))
        api.press_button(CLIENT, olga, text="Да, удалить")
        await api.wait_for_message(CLIENT, olga.id, has("Ваши данные удалены"))
        # the manager still hears that the time is free (no name in that notice)
        await api.wait_for_message(STAFF, manager.id, has("Время освободилось"))

    assert await leftovers(NAME, LINE, chat_id=str(olga.id)) == []
    assert (await LeadEvent.get(id=event.id)).note == "[erased] передумала, перезвонить [erased]"
    # the queued card will not be sent any more
    assert await Outbox.filter(kind="alert", status=OutboxStatus.PENDING).count() == 0


# --- WhatsApp: the chat id is the phone number ---------------------------------------------


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Logging as `python -m bot` sets it up (INFO, bot/logs.py), into a buffer."""
    loggers = [
        logging.getLogger(n) for n in ("", "aiogram.event", "tortoise", "aiosqlite", "aerich")
    ]
    levels = [lg.level for lg in loggers]
    saved = (loggers[0].handlers[:], sys.excepthook, threading.excepthook)
    buffer = io.StringIO()
    setup_logging("INFO", stream=buffer)
    try:
        yield buffer
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        loggers[0].handlers[:] = saved[0]
        sys.excepthook, threading.excepthook = saved[1], saved[2]


@pytest.fixture
async def wa(dialogs):
    async with whatsapp_rig(dialogs) as rig:
        yield rig


async def _forget(wa) -> None:
    replies = await wa.say(WA_ID, text(WA_ID, "/forget"))
    replies = await wa.choose(WA_ID, replies, "Да, удалить")
    assert "Ваши данные удалены" in text_of(replies[-1])


async def _leave_copies(wa, config, dialogs, clock) -> None:
    """A booking, a line of dialogue, the reminders queued, a delivery receipt."""
    replies = await book_in_whatsapp(wa, WA_ID)
    assert "Заявка принята" in text_of(replies[0])
    await wa.say(WA_ID, text(WA_ID, LINE))
    visit = await Appointment.get(status=AppointmentStatus.PENDING)
    clock.set(visit.start - dt.timedelta(hours=2))  # the reminders are due
    assert await queue_due_reminders(config, dialogs.texts, clock.now()) >= 1
    # the same message id both times: a late receipt, after the first erasure
    receipt = {"id": "wamid.out1", "status": "read", "recipient_id": WA_ID}
    assert await wa.post(webhook({"statuses": [receipt]})) == 200


async def test_a_whatsapp_client_leaves_no_number_in_tables_or_logs(
    wa, config, dialogs, clock, log_lines
):
    await add_team(clock)  # the alert cards are queued for the two managers
    await _leave_copies(wa, config, dialogs, clock)
    assert await DeliveryStatus.filter(chat_id=WA_ID).exists()
    assert any(has_phone(f) for f in await leftovers())  # the scan sees the number

    await _forget(wa)
    assert await leftovers(NAME, LINE) == []
    assert await Outbox.filter(status=OutboxStatus.PENDING).exclude(kind="notice").count() == 0
    # a read receipt that comes after the erasure is kept under the pseudonym only
    receipt = {"id": "wamid.out2", "status": "read", "recipient_id": WA_ID}
    assert await wa.post(webhook({"statuses": [receipt]})) == 200
    assert await DeliveryStatus.filter(status="read").count() == 2
    assert await leftovers(NAME, LINE) == []

    # the same number writes again: a fresh conversation (consent asked first, which
    # `book` presses) and a whole new booking of the freed slot
    clock.advance(minutes=5)
    await _leave_copies(wa, config, dialogs, clock)
    client = await Client.get(channel="whatsapp", channel_user_id=WA_ID)
    assert (client.name, client.phone) == (NAME, "+" + PHONE)
    assert (await Conversation.get(channel="whatsapp", chat_id=WA_ID)).client_id == client.id
    await _forget(wa)  # erased twice: the pseudonyms of the two erasures do not collide
    assert await leftovers(NAME, LINE) == []

    lines = log_lines.getvalue().splitlines()
    assert any("event=step" in line and "chat=h:" in line for line in lines)
    assert [line for line in lines if has_phone(line)] == []


# --- MAX: the user id, and a phone shared as a contact ---------------------------------------


async def test_a_max_client_leaves_no_id_or_number(dialogs):
    async with max_rig(dialogs) as mx:
        assert "Заявка принята" in (await book_in_max(mx))[0]["text"]
        assert await leftovers(chat_id=MAX_ID, phone=MAX_PHONE)
        replies = await mx.say(said(MAX_ID, "/forget"))
        replies = await mx.press(replies, "Да, удалить")
        assert "Ваши данные удалены" in replies[-1]["text"]
    assert await leftovers(LINE, chat_id=MAX_ID, phone=MAX_PHONE) == []
