"""MAX end to end: real HTTP into the webhook (and long polling), real HTTP out to a fake
MAX Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json

import aiohttp
import pytest

from bot.booking.reminders import queue_due_reminders
from bot.delivery.outbox import deliver_due
from bot.models import Appointment, Client, Conversation, InboundMessage, Lead, Outbox
from handlers.max import PATH, SECRET_HEADER, Max, MaxApi
from tests.fakes.local_server import serving_channel
from tests.fakes.max_api import TOKEN, FakeMaxApi, buttons
from tests.flows import has
from tests.staff_fixtures import MASHA, STAFF, add_team, running_bots
from tests.test_cli import run_cli

SECRET = "max-hook-secret"
ANNA_ID = "4242"
_seq = itertools.count(1)


def started(user_id: str, payload: str = "") -> dict:
    return {
        "update_type": "bot_started",
        "timestamp": 1763900000000 + next(_seq),
        "chat_id": 9000,
        "user": {"user_id": int(user_id), "name": "Анна"},
        "payload": payload,
    }


def said(user_id: str, text: str = "", mid: str | None = None, attachments=None) -> dict:
    body: dict = {"mid": mid or f"mid.in{next(_seq)}", "seq": next(_seq), "text": text}
    if attachments:
        body["attachments"] = attachments
    return {
        "update_type": "message_created",
        "timestamp": 1763900000000,
        "message": {
            "sender": {"user_id": int(user_id), "name": "Анна"},
            "recipient": {"chat_id": 9000, "chat_type": "dialog"},
            "body": body,
        },
    }


def pressed(user_id: str, payload: str) -> dict:
    return {
        "update_type": "message_callback",
        "timestamp": 1763900000000,
        "callback": {
            "callback_id": f"cb.{next(_seq)}",
            "payload": payload,
            "user": {"user_id": int(user_id), "name": "Анна"},
        },
        "message": {"recipient": {"chat_id": 9000}},
    }


def contact(user_id: str, phone: str) -> dict:
    vcf = f"BEGIN:VCARD\r\nVERSION:3.0\r\nTEL;TYPE=cell:{phone}\r\nFN:Анна\r\nEND:VCARD"
    card = {"type": "contact", "payload": {"vcf_info": vcf, "max_info": {"user_id": user_id}}}
    return said(user_id, attachments=[card])


class MaxRig:
    def __init__(self, api: FakeMaxApi, adapter: Max, url: str, http: aiohttp.ClientSession):
        self.api, self.adapter, self.url, self.http = api, adapter, url, http

    async def post(self, update: dict, secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with self.http.post(self.url, data=json.dumps(update), headers=headers) as resp:
            return resp.status

    async def say(self, update: dict, user_id: str = ANNA_ID) -> list[dict]:
        before = len(self.api.to(user_id))
        assert await self.post(update) == 200
        return self.api.to(user_id)[before:]

    async def press(self, replies: list[dict], title: str, user_id: str = ANNA_ID) -> list[dict]:
        for body in reversed(replies):
            for button in buttons(body):
                if button["type"] == "callback" and button["text"].startswith(title):
                    return await self.say(pressed(user_id, button["payload"]))
        raise AssertionError(f"no button {title!r} in {[b.get('text') for b in replies]}")


@contextlib.asynccontextmanager
async def max_rig(dialogs):
    async with FakeMaxApi() as api, aiohttp.ClientSession() as http:
        adapter = Max(
            MaxApi(api.base_url, TOKEN),
            dialogs.texts,
            dialogs.clock,
            webhook_secret=SECRET,
            dialogs=dialogs,
        )
        async with serving_channel(adapter) as url:
            yield MaxRig(api, adapter, url + PATH, http)


@pytest.fixture
async def mx(dialogs):
    async with max_rig(dialogs) as rig:
        yield rig


async def book(mx) -> list[dict]:
    replies = await mx.say(started(ANNA_ID, "src-instagram_cmp-spring"))
    replies = await mx.press(replies, "✅ Согласен")
    replies = await mx.press(replies, "Маникюр")
    replies = await mx.press(replies, "Нет, спасибо")
    replies = await mx.press(replies, "Завтра")
    replies = await mx.press(replies, "вт 24.11 10:00")
    assert buttons(replies[-1])[-1] == {"type": "request_contact", "text": "📱 Поделиться номером"}
    replies = await mx.say(contact(ANNA_ID, "+79271112233"))
    replies = await mx.press(replies, "Анна")
    return await mx.press(replies, "✅ Подтвердить")


async def test_a_whole_booking_in_max_with_inline_buttons_and_the_contact_request(mx):
    done = await book(mx)
    assert "Заявка принята" in done[0]["text"]
    client = await Client.get(channel="max", channel_user_id=ANNA_ID)
    assert (client.name, client.phone) == ("Анна", "+79271112233")
    appointment = await Appointment.get(client_id=client.id)
    lead = await Lead.get(id=appointment.lead_id)
    assert (lead.channel, lead.source, lead.campaign) == ("max", "instagram", "spring")
    assert len(mx.api.answered) >= 6  # every button press was answered


@pytest.mark.parametrize("secret", [None, "", "guess", SECRET + "x"])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_stored(mx, secret):
    assert await mx.post(started(ANNA_ID), secret=secret) == 403
    assert await InboundMessage.all().count() == 0
    assert await Conversation.all().count() == 0
    assert mx.api.sent == []


async def test_the_same_message_twice_is_handled_once(mx):
    await mx.say(started(ANNA_ID))
    first = await mx.say(said(ANNA_ID, "привет", mid="mid.same"))
    again = await mx.say(said(ANNA_ID, "привет", mid="mid.same"))
    assert first and again == []


async def test_long_polling_for_development(dialogs):
    async with max_rig(dialogs) as mx:
        mx.api.queue_update(started(ANNA_ID))
        polling = asyncio.create_task(mx.adapter.poll_forever(timeout=1))
        try:
            replies = await mx.api.wait_for(ANNA_ID, 2)
        finally:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
    assert "Лиса" in replies[0]["text"] and "152-ФЗ" in replies[1]["text"]


async def test_a_reminder_goes_out_on_max_with_its_buttons(mx, config, dialogs, clock):
    await book(mx)
    appointment = await Appointment.get()
    clock.set(appointment.start - dt.timedelta(hours=2))
    assert await queue_due_reminders(config, dialogs.texts, clock.now()) == 2
    assert await deliver_due(mx.adapter, clock) == 2
    reminder = mx.api.to(ANNA_ID)[-1]
    assert "напоминаем о визите" in reminder["text"]
    assert [b["payload"] for b in buttons(reminder)] == [
        f"rconfirm:{appointment.id}",
        f"rmove:{appointment.id}",
        f"cancel:{appointment.id}",
    ]
    assert all(row.external_id.startswith("mid.") for row in await Outbox.filter(kind="reminder"))


def test_max_in_webhook_mode_without_its_secret_is_refused(tmp_path):
    result = run_cli("check", tmp_path=tmp_path, MAX_BOT_TOKEN="t")
    assert result.returncode == 2
    assert result.stderr.startswith("error: MAX_WEBHOOK_SECRET is not set")
    assert (
        run_cli("check", tmp_path=tmp_path, MAX_BOT_TOKEN="t", MAX_MODE="polling").returncode == 0
    )


async def test_a_manager_talks_to_a_max_client_and_gets_her_photo(mx, config, clock):
    await add_team(clock)
    async with running_bots(config, clock, channels={"max": mx.adapter}) as api:
        await mx.say(started(ANNA_ID))
        await mx.press(mx.api.to(ANNA_ID), "✅ Согласен")
        await mx.say(said(ANNA_ID, "/human"))
        card = await api.wait_for_message(STAFF, MASHA.id, has("(MAX)"))
        api.press_button(STAFF, MASHA, text="✋ Взять", message_id=card["message_id"])
        await api.wait_for_message(STAFF, MASHA.id, has("ваша"))
        api.send_text(STAFF, MASHA, "Анна, чем помочь?")
        relayed = await mx.api.wait_for(ANNA_ID, len(mx.api.to(ANNA_ID)) + 2)
        assert any(body["text"] == "Анна, чем помочь?" for body in relayed)
        photo_url = mx.api.file_url(b"\xff\xd8max-photo")
        image = {"type": "image", "payload": {"url": photo_url}}
        await mx.say(said(ANNA_ID, "вот такой дизайн", attachments=[image]))
        sent = await api.wait_for_call(STAFF, "sendPhoto", lambda c: c.chat_id == MASHA.id)
        assert "вот такой дизайн" in sent.params["caption"]
        assert sent.files["photo"].content == b"\xff\xd8max-photo"
