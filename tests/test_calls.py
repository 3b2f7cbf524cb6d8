"""Missed calls over real HTTP: Zadarma and Mango Office notifications open one lead and one
«Перезвонить» card; redeliveries, answered calls and forgeries open none; several calls from
one number within an hour are one lead; a known Telegram client hears from the bot."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest

from bot.models import IntakeReceipt, Lead, LeadEvent, Outbox, SlaBreach
from bot.settings import SettingsError, check_channels
from handlers.telephony import UIS_PATH, ZADARMA_PATH
from tests import staff_fixtures, test_postgres
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import book_in_telegram, has
from tests.intake_helpers import (
    UIS_TOKEN,
    VIRTUAL,
    intake_settings,
    mango_summary,
    serving_intakes,
    zadarma_end,
)
from tests.staff_fixtures import CLIENT, MASHA, STAFF

bots = staff_fixtures.bots  # the fixture
pg = test_postgres.pg  # the fixture: a migrated PostgreSQL schema
MANGO_PATH = "/calls/mango/events/summary"


async def post(url: str, path: str, **kwargs) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url + path, **kwargs) as r:
        return r.status, await r.text()


JSON = {"Content-Type": "application/json"}


def alerts() -> object:
    return Outbox.filter(bot="staff", kind="alert").count()


async def test_zadarma_missed_call_opens_one_lead_and_one_card(bots: FakeBotApi, config, clock):
    api = bots
    async with serving_intakes(config, clock) as url:
        echo = {"zd_echo": "abc123"}
        async with aiohttp.ClientSession() as http, http.get(url + ZADARMA_PATH, params=echo) as r:
            assert (r.status, await r.text()) == (200, "abc123")

        fields, headers = zadarma_end("1700000000.111")
        assert await post(url, ZADARMA_PATH, data=fields, headers=headers) == (200, "ok")
        card = await api.wait_for_message(STAFF, MASHA.id, has("Заявка #1"))
        assert "пропущенный звонок" in card["text"] and "+79271234567" in card["text"]
        labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
        assert labels[0] == "📞 Перезвонить"

        assert await post(url, ZADARMA_PATH, data=fields, headers=headers) == (200, "ok")
        answered, signed = zadarma_end(
            "1700000000.222", caller="79035550000", disposition="answered"
        )
        assert await post(url, ZADARMA_PATH, data=answered, headers=signed) == (200, "answered")
        forged, _ = zadarma_end("1700000000.333", caller="79035551111")
        bad = {"Signature": "Zm9yZ2Vk"}
        assert (await post(url, ZADARMA_PATH, data=forged, headers=bad))[0] == 401
    lead = await Lead.get()
    assert (await Lead.all().count(), lead.channel, lead.source) == (1, "call", "call")
    assert await IntakeReceipt.all().count() == 1
    assert await alerts() == 2  # one card to each of the two managers


async def test_mango_missed_call_with_call_tracking(bots: FakeBotApi, config, clock):
    api = bots
    async with serving_intakes(config, clock) as url:
        assert await post(url, MANGO_PATH, data=mango_summary("MTAx")) == (200, "ok")
        card = await api.wait_for_message(STAFF, MASHA.id, has("Заявка #1"))
        assert "avito" in card["text"]  # the source configured for the dialled number
        assert await post(url, MANGO_PATH, data=mango_summary("MTAx")) == (200, "ok")  # resent
        connected = mango_summary("MTAy", caller="79035550000", result=1)
        assert await post(url, MANGO_PATH, data=connected) == (200, "ignored")
        outbound = mango_summary("MTAz", caller="79035550000", direction=2)
        assert await post(url, MANGO_PATH, data=outbound) == (200, "ignored")
        forged = mango_summary("MTA0", caller="79035551111") | {"sign": "0" * 64}
        assert (await post(url, MANGO_PATH, data=forged))[0] == 401
        garbage = mango_summary("x")
        garbage["json"] = "[1, 2]"
        garbage["sign"] = mango_summary("x")["sign"]
        assert (await post(url, MANGO_PATH, data=garbage))[0] == 401  # sign covers the json
    lead = await Lead.get()
    assert (await Lead.all().count(), lead.source) == (1, "avito")
    assert await alerts() == 2


async def test_three_missed_calls_within_an_hour_are_one_lead(db, config, clock):
    async with serving_intakes(config, clock) as url:
        for i in range(3):
            fields, headers = zadarma_end(f"call-{i}")
            assert await post(url, ZADARMA_PATH, data=fields, headers=headers) == (200, "ok")
            clock.advance(minutes=20)
        assert await Lead.all().count() == 1
        assert await LeadEvent.filter(kind="call", note="repeat").count() == 2
        assert await alerts() == 1  # the owner (no team here) is not alerted three times
        clock.advance(minutes=20)  # 80 minutes after the first call
        fields, headers = zadarma_end("call-later")
        assert await post(url, ZADARMA_PATH, data=fields, headers=headers) == (200, "ok")
    assert await Lead.all().count() == 2


async def test_missed_call_from_a_known_telegram_client_gets_a_telegram_message(
    bots: FakeBotApi, config, clock
):
    api, olga = bots, FakeUser(501, "Ольга")
    await book_in_telegram(api, CLIENT, olga)  # shares +79271234567
    async with serving_intakes(config, clock) as url:
        fields, headers = zadarma_end("known-1", caller="79271234567")
        assert await post(url, ZADARMA_PATH, data=fields, headers=headers) == (200, "ok")
        await api.wait_for_message(CLIENT, olga.id, has("Мы не успели ответить на ваш звонок"))
        lead = await Lead.get(channel="call")
        card = await api.wait_for_message(STAFF, MASHA.id, has(f"Заявка #{lead.id}"))
        labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
        assert "💬 Написать" in labels and "Ольга" in card["text"]
    assert (await lead.client).channel == "telegram"


async def test_call_back_sla_escalates_until_called(bots: FakeBotApi, config, clock):
    api = bots
    async with serving_intakes(config, clock) as url:
        fields, headers = zadarma_end("sla-1")
        assert await post(url, ZADARMA_PATH, data=fields, headers=headers) == (200, "ok")
        await api.wait_for_message(STAFF, MASHA.id, has("Заявка #1"))
    # Monday 09:00 in Samara; the salon opens at 10:00: 15 working minutes end at 10:15
    clock.set(dt.datetime(2026, 11, 23, 6, 16, tzinfo=dt.UTC))
    await api.wait_for_message(STAFF, MASHA.id, has("никто не перезвонил"))
    assert await SlaBreach.filter(kind="callback").count() == 1
    # one reminder, not two: the call-back reminder carries the claim button itself
    assert await SlaBreach.filter(kind="claim").count() == 0


async def test_intake_on_postgresql(pg, config, clock):
    """Migration 5 applies on PostgreSQL; a redelivery's unique-key refusal rolls back cleanly."""
    async with serving_intakes(config, clock) as url:
        for call_id in ("pg-1", "pg-1", "pg-2"):
            fields, headers = zadarma_end(call_id)
            assert await post(url, ZADARMA_PATH, data=fields, headers=headers) == (200, "ok")
        assert await post(url, MANGO_PATH, data=mango_summary("pg-3", caller="79035550000")) == (
            200,
            "ok",
        )
    assert await Lead.all().count() == 2
    assert await IntakeReceipt.all().count() == 3


def test_mango_key_without_salt_is_refused_at_start():
    with pytest.raises(SettingsError, match="MANGO_API_SALT"):
        check_channels(intake_settings(mango_api_salt=""))


async def test_uis_lost_call_opens_one_lead_and_a_forged_one_none(db, config, clock):
    lost = {
        "call_session_id": "3500123",
        "contact_phone_number": "79271234567",
        "virtual_phone_number": VIRTUAL,
    }
    path = f"{UIS_PATH}?token={UIS_TOKEN}"
    async with serving_intakes(config, clock) as url:
        assert (await post(url, f"{UIS_PATH}?token=wrong", json=lost))[0] == 401
        assert (await post(url, UIS_PATH, json=lost))[0] == 401
        assert await Lead.all().count() == 0
        assert await post(url, path, json=lost) == (200, "ok")
        assert await post(url, path, json=lost) == (200, "ok")  # a resent notification
        form = lost | {"call_session_id": "3500124", "contact_phone_number": "79035550000"}
        assert await post(url, path, data=form) == (200, "ok")  # form-encoded works too
        assert (await post(url, path, json={"contact_phone_number": "79035550001"}))[0] == 400
        assert (await post(url, path, data=b"[1", headers=JSON))[0] == 400
    leads = await Lead.all().order_by("id")
    assert [lead.source for lead in leads] == ["avito", "avito"]
    assert await IntakeReceipt.filter(key__startswith="uis:").count() == 2
