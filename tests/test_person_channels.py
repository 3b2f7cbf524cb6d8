"""One person, many channels: the staff card of a lead names every channel the person used
(matched by phone), over real HTTP (the form endpoint, the fake Bot API)."""

from __future__ import annotations

import aiohttp

from bot.models import Lead
from handlers.forms import LEAD_PATH
from tests import staff_fixtures
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import book_in_telegram, has
from tests.intake_helpers import serving_intakes
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
