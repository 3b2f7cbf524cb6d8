"""handlers.telegram_session: a Bot API answer's pydantic model is built once per return
type, not again after each garbage collection (aiogram's `Response[...]` per call); a
button press answered already (Telegram refuses a second answer) goes on."""

from __future__ import annotations

import gc

import pytest
from aiogram.exceptions import TelegramBadRequest
from pydantic._internal import _generics

from handlers.telegram import make_bot
from tests.fakes.bot_api import FakeBotApi

TOKEN = "123456:TEST"


async def test_the_answer_model_survives_garbage_collection(monkeypatch):
    built: list[str] = []
    create = _generics.create_generic_submodel

    def counting(name, *args, **kwargs):
        built.append(name)
        return create(name, *args, **kwargs)

    monkeypatch.setattr(_generics, "create_generic_submodel", counting)
    async with FakeBotApi() as api:
        bot = make_bot(TOKEN, api.base_url)
        try:
            for n in range(3):
                gc.collect()
                message = await bot.send_message(42, f"n{n}")
                assert message.text == f"n{n}"  # aiogram still reads the answer
                assert await bot.delete_message(42, message.message_id) is True
        finally:
            await bot.session.close()
    assert len(built) <= 2, built  # Response[Message], Response[bool]: at most once each


async def test_a_press_answered_already_goes_on_and_other_refusals_still_raise():
    """A press Telegram delivers again (our acknowledgement was lost) finds its query
    answered: the 400 is taken as answered, so the handler goes on (before, the staff
    bot's handler failed, the webhook said 503 and Telegram kept redelivering)."""
    async with FakeBotApi() as api:
        bot = make_bot(TOKEN, api.base_url)
        try:
            assert await bot.answer_callback_query("q-1") is True
            assert await bot.answer_callback_query("q-1") is True  # refused by Telegram
            answers = [c for c in api.calls() if c.method == "answerCallbackQuery"]
            assert [c.status for c in answers] == [200, 400]
            with pytest.raises(TelegramBadRequest, match="message is not modified"):
                sent = await bot.send_message(42, "same")
                await bot.edit_message_text("same", chat_id=42, message_id=sent.message_id)
        finally:
            await bot.session.close()
