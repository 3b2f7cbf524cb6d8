"""The AI layer end to end: the real aiogram client bot on the fake Bot API, the real
openai SDK on the fake model server. One free-text message books most of the visit, and a
model slower than its timeout still leaves the client answered by the rules."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from bot.app import build_dispatcher
from bot.settings import SettingsError, load_settings, parse_headers
from tests.ai_helpers import TIMEOUT, ai_client, ai_dialogs
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.fakes.openai_api import FakeOpenAI
from tests.flows import has
from tests.test_ai_flow import MODEL_OLGA, OLGA

TOKEN = "123456:client-bot-token"


@pytest.fixture
async def stack(db, config, clock):
    async with FakeOpenAI() as model, FakeBotApi() as api:
        dialogs = ai_dialogs(config, clock, ai_client(model, config, clock))
        bot = api.make_bot(TOKEN, parse_mode=None)
        dispatcher = build_dispatcher(dialogs)
        task = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
        try:
            yield api, model
        finally:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            await task
            await bot.session.close()


async def _consent(api: FakeBotApi, user: FakeUser) -> None:
    api.send_command(TOKEN, user, "/start")
    await api.wait_for_message(TOKEN, user.id, has("152-ФЗ"))
    api.press_button(TOKEN, user, text="✅ Согласен")
    await api.wait_for_message(TOKEN, user.id, has("Какая услуга"))


@pytest.mark.parametrize("slow", [False, True], ids=["model", "model-too-slow"])
async def test_free_text_to_slots_in_time(stack, slow):
    api, model = stack
    olga = FakeUser(501, "Оля")
    await _consent(api, olga)
    model.tool(MODEL_OLGA, delay=TIMEOUT * 10 if slow else 0)
    started = time.perf_counter()
    api.send_text(TOKEN, olga, OLGA)
    slots = await api.wait_for_message(TOKEN, olga.id, has("Свободные окна"), timeout=3)
    assert time.perf_counter() - started < 3  # the 3-second first-reply budget
    first = slots["reply_markup"]["inline_keyboard"][0][0]["text"]
    assert first.startswith("сб 28.11 13:00")  # Saturday after lunch, from either path


def test_extra_headers_setting():
    assert parse_headers('{"X-No-Log": "1"}') == {"X-No-Log": "1"}
    assert parse_headers("X-No-Log: 1; X-Team: salon") == {"X-No-Log": "1", "X-Team": "salon"}
    assert parse_headers("") == {}
    with pytest.raises(SettingsError, match="OPENAI_EXTRA_HEADERS: 'oops' is not"):
        load_settings(openai_extra_headers="oops")
    with pytest.raises(SettingsError, match="OPENAI_EXTRA_HEADERS: not valid JSON"):
        load_settings(openai_extra_headers="{bad")
    with pytest.raises(SettingsError, match="OPENAI_BASE_URL: must start with http"):
        load_settings(openai_base_url="localhost:8000")
