"""Website forms over real HTTP: Tilda's webhook and the generic endpoint open a lead that
reaches the staff bot (fake Bot API); forged, spam and flooding posts store nothing."""

from __future__ import annotations

import aiohttp
import pytest

from bot.models import Client, IntakeReceipt, Lead, LeadEvent, Outbox
from handlers.forms import EMBED_PATH, LEAD_PATH, TILDA_PATH
from tests import staff_fixtures
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import book_in_telegram, has
from tests.intake_helpers import SITE, TILDA_KEY, serving_intakes
from tests.staff_fixtures import CLIENT, MASHA, PETYA, STAFF
from tests.test_erasure import leftovers

bots = staff_fixtures.bots  # the fixture

TILDA_FORM = {
    "Name": "Вера",
    "Phone": "+7 (927) 555-12-34",
    "Service": "Маникюр",
    "Comment": "после 18:00",
    "tranid": "3715337:4621081",
    "formid": "form123",
    "utm_source": "yandex",
    "utm_campaign": "spring",
    "Checkbox": "yes",
}
WEB_FORM = {
    "name": "Нина",
    "phone": "8 927 777-00-11",
    "service": "Стрижка",
    "time": "в субботу утром",
    "consent": "Согласна на обработку персональных данных",
    "utm_source": "vk",
    "utm_campaign": "autumn",
}


async def post(url: str, path: str, **kwargs) -> tuple[int, str, dict]:
    async with aiohttp.ClientSession() as http, http.post(url + path, **kwargs) as r:
        return r.status, await r.text(), dict(r.headers)


async def counts() -> tuple[int, int, int, int]:
    return (
        await Lead.all().count(),
        await IntakeReceipt.all().count(),
        await Client.all().count(),
        await Outbox.all().count(),
    )


async def test_tilda_form_opens_a_lead_that_reaches_the_staff_bot(bots: FakeBotApi, config, clock):
    api = bots
    async with serving_intakes(config, clock) as url:
        before = await counts()  # (the timed work has queued the weekly report already)
        assert (await post(url, TILDA_PATH, data={"test": "test"}))[:2] == (200, "test")
        assert await counts() == before  # the probe stores nothing

        headers = {"X-Api-Key": TILDA_KEY}
        assert (await post(url, TILDA_PATH, data=TILDA_FORM, headers=headers))[:2] == (200, "ok")
        card = await api.wait_for_message(STAFF, MASHA.id, has("Заявка #1"))
        assert "заявка с сайта" in card["text"] and "yandex / spring" in card["text"]
        assert "Вера, +79275551234" in card["text"] and "Услуга: Маникюр" in card["text"]
        labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
        assert "📞 Перезвонить" in labels and "💬 Написать" not in labels  # no messenger known
        await api.wait_for_message(STAFF, PETYA.id, has("Заявка #1"))

        # Tilda retries (no answer in 5 s, or a resend): the same tranid is the same lead
        field_key = TILDA_FORM | {"api_key": TILDA_KEY}
        assert (await post(url, TILDA_PATH, data=field_key))[:2] == (200, "ok")
        lead = await Lead.get()
        assert (await Lead.all().count(), lead.channel, lead.source) == (1, "form", "yandex")
        assert lead.attention_at == clock.now()  # the SLA clock runs

        api.press_button(STAFF, MASHA, text="📞 Перезвонить", message_id=card["message_id"])
        number = await api.wait_for_message(STAFF, MASHA.id, has("позвоните по номеру"))
        assert "+79275551234" in number["text"]
        api.press_button(STAFF, MASHA, text="✅ Перезвонил", message_id=number["message_id"])
        await api.wait_for_message(STAFF, MASHA.id, has("чем закончился звонок"))
        api.press_button(STAFF, MASHA, text="записал(а)")
        await api.wait_for_message(STAFF, MASHA.id, has("записано — записал(а)"))
    lead = await Lead.get()
    assert lead.manager_id == MASHA.id
    called = await LeadEvent.get(kind="called")
    assert (called.note, called.actor) == ("booked", f"staff:{MASHA.id}")


async def test_generic_form_with_cors_opens_a_lead_with_consent(bots: FakeBotApi, config, clock):
    api = bots
    async with serving_intakes(config, clock) as url:
        async with aiohttp.ClientSession() as http:
            preflight = {"Origin": SITE, "Access-Control-Request-Method": "POST"}
            async with http.options(url + LEAD_PATH, headers=preflight) as r:
                assert r.status == 204
                assert r.headers["Access-Control-Allow-Origin"] == SITE
                assert "POST" in r.headers["Access-Control-Allow-Methods"]
            evil = {"Origin": "https://evil.example"}
            async with http.options(url + LEAD_PATH, headers=evil) as r:
                assert r.status == 403
            async with http.get(url + EMBED_PATH) as r:
                script = await r.text()
                assert r.status == 200 and "javascript" in r.headers["Content-Type"]
                assert "utm_source" in script and "/forms/lead" in script

        status, body, headers = await post(url, LEAD_PATH, json=WEB_FORM, headers={"Origin": SITE})
        assert (status, headers["Access-Control-Allow-Origin"]) == (200, SITE)
        card = await api.wait_for_message(STAFF, MASHA.id, has("Заявка #1"))
        assert "vk / autumn" in card["text"] and "Удобное время: в субботу утром" in card["text"]

        # the same form posted twice (a double click) is one lead; urlencoded works the same
        assert (await post(url, LEAD_PATH, data=WEB_FORM))[0] == 200
        # a foreign site's post is refused before anything is read
        status, body, _ = await post(url, LEAD_PATH, json=WEB_FORM | {"name": "Иная"}, headers=evil)
        assert (status, "origin not allowed" in body) == (403, True)
    assert await Lead.all().count() == 1
    receipt = await IntakeReceipt.get()
    assert receipt.consent_text == WEB_FORM["consent"] and receipt.policy_version == "2026-10"
    assert receipt.details["utm"] == {"utm_source": "vk", "utm_campaign": "autumn"}
    client = await Client.get()
    assert (client.channel, client.phone, client.consent_policy_version) == (
        "phone",
        "+79277770011",
        "2026-10",
    )


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "reason"),
    [
        (TILDA_PATH, {"data": TILDA_FORM | {"api_key": "guess"}}, 401, "API key"),
        (TILDA_PATH, {"data": TILDA_FORM}, 401, "API key"),
        (LEAD_PATH, {"data": WEB_FORM | {"phone": "12"}}, 400, "phone"),
        (
            LEAD_PATH,
            {"data": {k: v for k, v in WEB_FORM.items() if k != "consent"}},
            400,
            "consent",
        ),
        (
            LEAD_PATH,
            {"data": "{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "JSON",
        ),
        (LEAD_PATH, {"data": "x=" + "a" * 20000}, 413, "larger"),
    ],
    ids=["tilda-wrong-key", "tilda-no-key", "bad-phone", "no-consent", "bad-json", "too-big"],
)
async def test_forged_or_bad_forms_store_nothing(db, config, clock, path, kwargs, status, reason):
    async with serving_intakes(config, clock) as url:
        got, body, _ = await post(url, path, **kwargs)
    assert got == status and reason in body
    assert await counts() == (0, 0, 0, 0)


async def test_spam_and_flood_store_nothing(db, config, clock):
    async with serving_intakes(config, clock, forms_rate_per_ip=2, forms_rate_window=60) as url:
        spam = WEB_FORM | {"website": "http://casino.example"}  # the honeypot filled in
        assert (await post(url, LEAD_PATH, data=spam))[0] == 200  # told nothing
        assert await counts() == (0, 0, 0, 0)
        assert (await post(url, LEAD_PATH, data=WEB_FORM | {"phone": "+79270000001"}))[0] == 200
        flood = [
            await post(url, LEAD_PATH, data=WEB_FORM | {"phone": f"+7927000000{i}"}) for i in (2, 3)
        ]
        assert [f[0] for f in flood] == [429, 429]  # the spam post counted too
        assert await Lead.all().count() == 1
        clock.advance(seconds=61)  # the window passed
        assert (await post(url, LEAD_PATH, data=WEB_FORM | {"phone": "+79270000004"}))[0] == 200
    assert await Lead.all().count() == 2


async def test_a_form_from_a_telegram_client_continues_in_chat_and_forget_erases_it(
    bots: FakeBotApi, config, clock
):
    api, olga = bots, FakeUser(501, "Ольга")
    await book_in_telegram(api, CLIENT, olga)  # shares +79271234567
    said = "Ольга, можно с дочкой Варей?"
    async with serving_intakes(config, clock) as url:
        form = WEB_FORM | {"name": "Ольга", "phone": "+7 927 123-45-67", "comment": said}
        assert (await post(url, LEAD_PATH, data=form))[0] == 200
    await api.wait_for_message(CLIENT, olga.id, has("Получили вашу заявку с сайта"))
    lead = await Lead.get(channel="form")
    assert (await lead.client).channel == "telegram"  # one person, found by phone
    card = await api.wait_for_message(STAFF, MASHA.id, has(f"Заявка #{lead.id}"))
    assert "💬 Написать" in [
        b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row
    ]

    api.send_command(CLIENT, olga, "/forget")
    await api.wait_for_message(CLIENT, olga.id, has("Удалить ваши данные"))
    api.press_button(CLIENT, olga, text="Да, удалить")
    await api.wait_for_message(CLIENT, olga.id, has("Ваши данные удалены"))
    assert await leftovers("Ольга", "дочкой Варей", chat_id=str(olga.id)) == []
