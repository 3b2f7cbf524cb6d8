"""A reply's answer read without pydantic (handlers.telegram_send.sent_answer) and the
session's kept middleware chain (handlers.telegram_session.KeptChain): each gives what
aiogram's own reading and chaining give, and follows what they would follow."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import ClientDecodeError, TelegramBadRequest
from aiogram.methods import GetMe, Response, SendMessage

from handlers.telegram import make_bot
from handlers.telegram_send import EDIT, SEND, SentMessage, send_text, sent_answer
from handlers.telegram_session import KeptChain, TelegramSession
from tests.fakes.bot_api import FakeBotApi

TOKEN = "123456:TEST"
MESSAGE = {
    "message_id": 7,
    "date": 1764000000,
    "chat": {"id": 42, "type": "private"},
    "from": {"id": 123456, "is_bot": True, "first_name": "Priyom"},
    "text": "привет",
}
PLAIN = [
    {"ok": True, "result": MESSAGE},
    {"ok": True, "result": {"message_id": 1}},
    {"ok": True, "result": {"message_id": 2**40, "anything": [1, 2]}},
]
NOT_PLAIN = [
    {"ok": True, "result": True},  # an inline message's edit
    {"ok": True, "result": {"message_id": "7"}},  # validation's call, not ours
    {"ok": True, "result": {"message_id": True}},
    {"ok": True, "result": {"message_id": 7.0}},
    {"ok": True, "result": {"text": "no id"}},
    {"ok": True, "result": None},
    {"ok": True, "result": [MESSAGE]},
    {"ok": 1, "result": MESSAGE},
    {"ok": False, "result": MESSAGE},
    {"ok": True, "result": MESSAGE, "description": 5},
    {"ok": True},
    [{"ok": True, "result": MESSAGE}],
    None,
]


def _bot() -> Bot:
    return make_bot(TOKEN, "http://127.0.0.1:9")


@pytest.mark.parametrize("data", PLAIN)
@pytest.mark.parametrize("returning", [SentMessage, SentMessage | bool])
def test_a_plain_answer_reads_as_validation_reads_it(data, returning):
    ours = sent_answer(returning, data)
    theirs = Response[returning].model_validate(data)  # type: ignore[valid-type]
    assert ours == theirs
    assert type(ours) is type(theirs) and type(ours.result) is SentMessage
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.result.model_fields_set == theirs.result.model_fields_set
    assert ours.model_dump() == theirs.model_dump()
    assert ours.result.__pydantic_extra__ == theirs.result.__pydantic_extra__
    with pytest.raises(Exception, match="frozen"):
        ours.result.message_id = 8  # as frozen as a validated one


@pytest.mark.parametrize("data", NOT_PLAIN)
def test_anything_else_is_left_to_validation(data):
    assert sent_answer(SentMessage | bool, data) is None


def test_only_a_reply_s_answer_is_read_so():
    assert sent_answer(SendMessage.__returning__, PLAIN[0]) is None


@pytest.mark.parametrize(
    "answer", [{"ok": True, "result": {"message_id": "x"}}, {"ok": True, "result": {}}]
)
async def test_a_wrong_or_missing_id_still_raises_as_aiogram_would(answer):
    bot = _bot()
    method = SEND(chat_id=42, text="привет", reply_markup=None)
    with pytest.raises(ClientDecodeError):
        bot.session.check_response(bot, method, 200, json.dumps(answer))
    with pytest.raises(ClientDecodeError):
        bot.session.check_response(bot, method, 200, "{not json")
    await bot.session.close()


async def test_the_session_reads_a_sent_id_and_refusals_as_before():
    bot = _bot()
    session = bot.session
    sent = session.check_response(
        bot, SEND(chat_id=42, text="x", reply_markup=None), 200, json.dumps(PLAIN[0])
    )
    assert sent.result == SentMessage(message_id=7)
    edit = EDIT(chat_id=42, message_id=7, business_connection_id=None, text="x", reply_markup=None)
    assert session.check_response(bot, edit, 200, '{"ok":true,"result":true}').result is True
    refused = {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message is not modified",
    }
    with pytest.raises(TelegramBadRequest, match="not modified"):
        session.check_response(bot, edit, 400, json.dumps(refused))
    await session.close()


async def test_a_reply_goes_out_and_comes_back_with_telegrams_id():
    async with FakeBotApi() as api:
        bot = make_bot(TOKEN, api.base_url)
        try:
            first = await send_text(bot, 42, "раз")
            second = await send_text(bot, 42, "два")
            assert first != second
            assert [m["message_id"] for m in api.sent(TOKEN, 42)] == [first, second]
        finally:
            await bot.session.close()


class _Answering(KeptChain, BaseSession):
    """A session that answers every call with its own name (no network)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:
        return (self.name, timeout)

    async def close(self) -> None:
        return None

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


def _tracer(log: list[str], name: str) -> Any:
    async def middleware(make_request: Any, bot: Bot, method: Any) -> Any:
        log.append(name)
        return await make_request(bot, method)

    return middleware


async def test_the_kept_chain_follows_the_middlewares_and_the_session():
    log: list[str] = []
    one, two = _Answering("one"), _Answering("two")
    bot_one, bot_two = Bot(TOKEN, session=one), Bot(TOKEN, session=two)
    assert await one(bot_one, GetMe()) == ("one", None)
    assert await two(bot_two, GetMe()) == ("two", None)  # each session its own chain
    assert await two(bot_two, GetMe(), timeout=5) == ("two", 5)
    first = _tracer(log, "first")
    one.middleware(first)  # registered after calls, as the sending pace is
    assert await one(bot_one, GetMe()) == ("one", None)
    assert log == ["first"]
    one.middleware(_tracer(log, "second"))
    assert await one(bot_one, GetMe(), timeout=3) == ("one", 3)
    assert log == ["first", "first", "second"]
    one.middleware.unregister(first)
    await one(bot_one, GetMe())
    assert log == ["first", "first", "second", "second"]
    await two(bot_two, GetMe())
    assert log[-1] == "second" and len(log) == 4  # the other session has none
    assert isinstance(make_bot(TOKEN).session, TelegramSession | KeptChain)
