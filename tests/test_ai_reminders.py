"""Personal reminder texts: a model greeting on top, the database's facts below, or the
fixed template whenever the greeting is slow, broken or breaks a rule."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.ai.reminder import Greeter, valid_greeting
from bot.booking.reminders import queue_due_reminders
from bot.models import Outbox
from tests.ai_helpers import TIMEOUT, ai_client
from tests.fakes.openai_api import FakeOpenAI
from tests.test_booking_flow import Chat, book

FACTS = ("вт, 24 ноября, 10:00", "Маникюр, мастер Анна", "Адрес: Самара, ул. Ленинградская, 45")


@pytest.fixture
async def fake():
    async with FakeOpenAI() as server:
        yield server


async def _queue(dialogs, config, clock, fake) -> str:
    await book(Chat(dialogs, 501, "Ольга"))
    clock.set(clock.now() + dt.timedelta(hours=1))  # Monday 10:00: the 24-hour reminder is due
    greeter = Greeter(ai_client(fake, config, clock))
    assert await queue_due_reminders(config, dialogs.texts, clock.now(), greeter) == 1
    row = await Outbox.get(kind="reminder")
    return row.payload["text"]


async def test_greeting_on_top_of_the_database_facts(dialogs, config, clock, fake):
    fake.tool({"text": "[имя], ждём вас на маникюр у Анны — будет красиво!"})
    text = await _queue(dialogs, config, clock, fake)
    assert text.startswith("Ольга, ждём вас на маникюр у Анны — будет красиво!\n")
    for fact in FACTS:
        assert fact in text
    sent = fake.requests[0].text
    assert "Ольга" not in sent and "Маникюр" in sent and "Анна" in sent


@pytest.mark.parametrize(
    "script",
    [
        lambda f: f.tool({"text": "[имя], ждём вас завтра в 9:00!"}),  # a time: not its job
        lambda f: f.tool({"text": "Скидка тут: https://evil.example"}),
        lambda f: f.tool({"text": "[имя], привет"}, delay=TIMEOUT * 5),
        lambda f: f.status(500),
    ],
    ids=["digits", "link", "slow", "500"],
)
async def test_fixed_template_when_the_greeting_fails(dialogs, config, clock, fake, script):
    script(fake)
    text = await _queue(dialogs, config, clock, fake)
    assert text.startswith("Ольга, напоминаем о визите: вт, 24 ноября, 10:00.")
    for fact in FACTS:
        assert fact in text


def test_greeting_rules():
    assert valid_greeting("[имя], до встречи!", "Анна") == "Анна, до встречи!"
    assert valid_greeting("[имя], до встречи!", "") is None  # no name to put in
    assert valid_greeting("Ждём вас!", "") == "Ждём вас!"
    assert valid_greeting("x" * 141, "Анна") is None
    assert valid_greeting("[имя] [имя]", "Анна") is None
    assert valid_greeting(None, "Анна") is None
