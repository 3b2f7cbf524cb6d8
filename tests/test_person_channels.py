"""One person, many channels, over real HTTP (form and call endpoints, the fake Bot API):
the staff card names every channel the person used (matched by phone), and a person's
requests within `[leads] dedup_minutes` are one lead."""

from __future__ import annotations

import aiohttp

from bot.config import Leads
from bot.models import Lead, LeadEvent, Outbox
from handlers.forms import LEAD_PATH
from handlers.telephony import ZADARMA_PATH
from tests import staff_fixtures
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import book_in_telegram, has
from tests.intake_helpers import serving_intakes, zadarma_end
from tests.staff_fixtures import CLIENT, MASHA, STAFF

bots = staff_fixtures.bots  # the fixture


async def test_the_card_of_a_form_lead_names_the_persons_telegram_too(
    bots: FakeBotApi, config, clock
):
    api, olga = bots, FakeUser(501, "Ольга")
    await book_in_telegram(api, CLIENT, olga)  # shares +79271234567
    form = {"name": "Ольга", "phone": "+7 927 123-45-67", "consent": "Согласна"}
    async with (
        serving_intakes(config, clock) as url,
        aiohttp.ClientSession() as http,
        http.post(url + LEAD_PATH, data=form) as resp,
    ):
        assert resp.status == 200
    lead = await Lead.get(channel="form")
    card = await api.wait_for_message(STAFF, MASHA.id, has(f"Заявка #{lead.id}"))
    assert "+79271234567 (форма на сайте, Telegram)" in card["text"]


async def _form_then_call(url: str, clock, minutes: int, tag: str = "") -> None:
    """A website form from +79271234567, then a missed call from the same number."""
    form = {
        "name": "Ольга",
        "phone": "+7 927 123-45-67",
        "comment": "на маникюр" + tag,
        "consent": "Согласна",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(url + LEAD_PATH, data=form) as resp:
            assert resp.status == 200
        clock.advance(minutes=minutes)
        fields, headers = zadarma_end("call-after-form" + tag, caller="79271234567")
        async with http.post(url + ZADARMA_PATH, data=fields, headers=headers) as resp:
            assert (resp.status, await resp.text()) == (200, "ok")


async def test_a_form_and_a_call_of_one_person_within_the_window_are_one_lead(db, config, clock):
    async with serving_intakes(config, clock) as url:
        await _form_then_call(url, clock, minutes=20)
    lead = await Lead.get()  # only one
    assert lead.channel == "form"
    assert await LeadEvent.filter(lead=lead, kind="call", note="repeat").count() == 1
    assert await Outbox.filter(bot="staff", kind="alert").count() == 1  # one card


async def test_after_the_window_or_with_dedup_off_the_call_is_a_lead_of_its_own(db, config, clock):
    async with serving_intakes(config, clock) as url:
        await _form_then_call(url, clock, minutes=61)
    assert await Lead.filter(channel="call").count() == 1
    off = config.model_copy(update={"leads": Leads(dedup_minutes=0)})
    await Lead.all().delete()
    async with serving_intakes(off, clock) as url:
        await _form_then_call(url, clock, minutes=1, tag="-2")
    assert sorted(await Lead.all().values_list("channel", flat=True)) == ["call", "form"]
