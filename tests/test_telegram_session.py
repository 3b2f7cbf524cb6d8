"""handlers.telegram_session: a Bot API answer's pydantic model is built once per return
type, not again after each garbage collection (aiogram's `Response[...]` per call)."""

from __future__ import annotations

import gc

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
