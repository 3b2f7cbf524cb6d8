"""The assistant in the client flow against a local OpenAI-compatible server.

The model's answers are scripted: a correct tool call, a slow one past the timeout, a 500,
a malformed body, a tool call naming a service that does not exist. In every case the
client gets a correct answer in time, from the model when it validates, else from the rules.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from bot.booking import catalog
from bot.i18n import Texts
from bot.models import AiUsage, Lead, StaffRole
from bot.staffwork.alerts import card
from scenarios.state import Step
from scenarios.types import Input
from tests.ai_helpers import TIMEOUT, AiChat, ai_client, ai_dialogs, texts_of
from tests.fakes.bot_api import FakeUser
from tests.fakes.openai_api import FakeOpenAI
from tests.staff_fixtures import add_staff

SATURDAY = dt.date(2026, 11, 28)
OLGA = "хочу маникюр с покрытием в субботу после обеда, я Ольга"
MODEL_OLGA = {
    "intent": "booking",
    "service_id": "manicure",
    "addon_ids": ["gel"],
    "date_from": "2026-11-28",
    "date_to": "2026-11-28",
    "time_from": "13:00",
    "warmth": "hot",
    "summary": "Маникюр с гель-лаком в субботу после обеда",
}


@pytest.fixture
async def fake():
    async with FakeOpenAI() as server:
        yield server


async def _state(chat: AiChat):
    return await chat.dialogs.conversation_state("telegram", chat.chat_id)


async def test_one_message_fills_service_addon_time_and_name(db, config, clock, fake):
    fake.tool(MODEL_OLGA)
    headers = {"X-Data-Logging": "off"}
    chat = await AiChat(
        ai_dialogs(config, clock, ai_client(fake, config, clock, headers))
    ).consented()
    replies = await chat.say(OLGA)
    assert "Свободные окна" in texts_of(replies)
    state = await _state(chat)
    assert (state.service_id, state.addon_ids, state.name) == ("manicure", ["gel"], "Ольга")
    assert state.time_wish.day_from == SATURDAY and state.time_wish.after == dt.time(13)
    assert state.step == Step.SLOT
    (request,) = fake.requests
    assert request.headers["x-data-logging"] == "off"
    assert "Ольга" not in request.text and "[имя]" in request.text  # the name is masked
    assert request.body["tool_choice"]["function"]["name"] == "read_message"


async def test_phone_digits_never_reach_the_model(db, config, clock, fake):
    fake.tool({"intent": "booking", "service_id": "pedicure"})
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    await chat.say("педикюр завтра, перезвоните 8 927 123-45-67")
    assert "927" not in fake.requests[0].text and "[телефон]" in fake.requests[0].text
    state = await _state(chat)
    assert (state.service_id, state.phone) == ("pedicure", "+79271234567")  # read by the rules


@pytest.mark.parametrize(
    ("script", "failures"),
    [
        (lambda f: f.tool(MODEL_OLGA, delay=TIMEOUT * 5), 1),  # slow: past the timeout
        (lambda f: f.status(500), 1),
        (lambda f: f.raw("{not json"), 1),
        (lambda f: f.tool("{'service_id': manicure"), 1),  # arguments that are not JSON
        (lambda f: f.text("Конечно, записываю!"), 1),  # no tool call at all
        (lambda f: f.tool({**MODEL_OLGA, "service_id": "tattoo", "addon_ids": ["gold"]}), 0),
    ],
    ids=["slow", "500", "malformed-body", "malformed-arguments", "no-tool-call", "no-such-service"],
)
async def test_rules_answer_when_the_model_fails(db, config, clock, fake, script, failures):
    script(fake)
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    started = time.perf_counter()
    replies = await chat.say(OLGA)
    assert time.perf_counter() - started < TIMEOUT * 4  # did not wait for a slow model
    assert "Свободные окна" in texts_of(replies)
    state = await _state(chat)
    assert state.service_id == "manicure" and state.time_wish.day_from == SATURDAY
    assert state.addon_ids == ["gel"]  # the rules' reading, never «gold»
    usage = await AiUsage.get(month="2026-11", purpose="understand")
    assert (usage.calls, usage.failures) == (1, failures)


async def test_failures_are_counted_and_tokens_summed(db, config, clock, fake):
    fake.tool(MODEL_OLGA)
    fake.status(500)
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    await chat.say(OLGA)
    await chat.say("/restart")  # any text at the slot step goes to the model too
    usage = await AiUsage.get(month="2026-11", purpose="understand")
    assert (usage.calls, usage.failures) == (2, 1)
    assert (usage.prompt_tokens, usage.completion_tokens) == (120, 30)  # only the answered one


async def test_invented_name_and_past_date_are_dropped(db, config, clock, fake):
    fake.tool(
        {**MODEL_OLGA, "name": "Администратор", "date_from": "2020-01-01", "date_to": "2020-01-02"}
    )
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    await chat.say("маникюр с покрытием в субботу после обеда")
    state = await _state(chat)
    assert state.name is None  # not in the message: not a name
    assert state.time_wish.day_from == SATURDAY  # the rules' reading, not 2020


async def test_health_details_are_never_sent(db, config, clock, fake):
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    replies = await chat.say("у меня аллергия на гель-лак, запишите на маникюр завтра")
    assert fake.requests == []
    assert "Добавить к услуге" in texts_of(replies)  # the rules went on with the booking


async def test_grounded_faq_answer_is_sent_and_invented_one_is_not(db, config, clock, fake):
    fake.tool({"intent": "other", "answer": "Парковка бесплатная, во дворе салона."})
    fake.tool({"intent": "price_question", "answer": "Парковка стоит 300 ₽ в час."})
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    first = texts_of(await chat.say("а парковка у вас есть?"))
    assert "Парковка бесплатная, во дворе салона." in first and "1/3" in first
    second = texts_of(await chat.say("а парковка у вас есть?"))
    assert "300" not in second  # an invented number: the rules answer from the FAQ file
    assert "Бесплатная парковка во дворе" in second


async def test_question_outside_knowledge_is_handed_off(db, config, clock, fake):
    fake.tool({"intent": "other", "outside_knowledge": True, "summary": "Спрашивает про Wi-Fi"})
    await add_staff(FakeUser(7001, "Маша"), StaffRole.MANAGER, clock)  # someone to ask
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    replies = await chat.say("а у вас есть вайфай для клиентов?")
    assert "Уточню у менеджера" in texts_of(replies)
    lead = await Lead.get()
    assert lead.needs_human and lead.handoff_reason == "question"
    assert lead.ai_summary == "Спрашивает про Wi-Fi"


async def test_lead_intelligence_on_the_staff_card(db, config, clock, fake):
    fake.tool(MODEL_OLGA)
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    await chat.say(OLGA)
    lead = await Lead.get()
    assert (lead.ai_intent, lead.ai_warmth) == ("booking", "hot")
    message = await card(lead, config, Texts("ru"), clock.now())
    assert "🧠 запись · 🔥 горячий · Маникюр с гель-лаком в субботу после обеда" in message.text


async def test_rules_intelligence_without_a_model(db, config, clock):
    chat = await AiChat(ai_dialogs(config, clock, None)).consented()
    await chat.say("сколько стоит педикюр?")
    lead = await Lead.get()
    assert (lead.ai_intent, lead.ai_warmth) == ("price_question", "warm")
    await chat.say("педикюр завтра после 5")
    lead = await Lead.get()
    assert (lead.ai_intent, lead.ai_warmth) == ("booking", "warm")
    assert lead.ai_summary.startswith("Педикюр · вт 24.11 17:00")


async def test_price_question_answered_from_the_catalog_by_rules(db, config, clock):
    chat = await AiChat(ai_dialogs(config, clock, None)).consented()
    replies = texts_of(await chat.say("сколько стоит маникюр?"))
    assert "Маникюр — 1\u00a0500\u00a0₽" in replies and "Покрытие гель-лак +800\u00a0₽" in replies


async def test_answered_steps_are_skipped_up_to_the_summary(db, config, clock, fake):
    fake.tool(MODEL_OLGA)
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    replies = await chat.say(OLGA + ", мой номер +7 927 123-45-67")
    first_slot = replies[-1].buttons[0][0].action
    summary = texts_of(await chat.send(Input.button(first_slot)))
    assert "Проверьте" in summary and "Ольга" in summary and "+79271234567" in summary
    assert "Покрытие гель-лак" in summary and "сб, 28 ноября, 13:00" in summary


async def test_model_warmth_never_cools_a_lead_that_picked_a_slot(db, config, clock, fake):
    fake.tool({**MODEL_OLGA, "warmth": "cold"})
    chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
    await chat.say(OLGA)
    assert (await Lead.get()).ai_warmth == "hot"  # at the slot step: hot by progress


async def test_the_understander_follows_the_owners_catalog(db, config, clock):
    """A price or a service the owner changed in /services is what the AI layer knows too."""
    await catalog.change(config, "manicure", "price", 170000, 9001, clock.now())
    await catalog.change(config, "pedicure", "enabled", False, 9001, clock.now())
    chat = await AiChat(ai_dialogs(config, clock, None)).consented()
    replies = texts_of(await chat.say("сколько стоит маникюр?"))
    assert "Маникюр — 1\u00a0700\u00a0₽" in replies
    replies = texts_of(await chat.say("хочу на педикюр"))
    assert "Педикюр" not in replies
