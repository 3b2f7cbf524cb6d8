"""The reply's methods assembled without pydantic's validation (handlers.telegram_assembled)
are aiogram's own: equal models, the same fields set, the same request on the wire, each
instance its own; a value validation would convert or refuse still goes through it."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import ForceReply, ReplyKeyboardRemove
from pydantic import ValidationError

from handlers.telegram import ANSWER, contact_keyboard, inline_keyboard
from handlers.telegram_assembled import Assembled
from handlers.telegram_send import EDIT, SEND, EditText, SendText
from scenarios.types import Button

TOKEN = "123456:assembled"
INLINE = inline_keyboard(((Button("10:00", "slot:1"), Button("Сайт", url="https://x.ru")),))
CONTACT = contact_keyboard("Поделиться", ((Button("◂ Назад", "back"),),))

SENDS = [
    {"chat_id": 1001, "text": "Привет", "reply_markup": None},
    {"chat_id": "1001", "text": "<b>Время</b>", "reply_markup": INLINE},
    {"chat_id": -100123, "text": "", "reply_markup": CONTACT},
    {"chat_id": 7, "text": "x", "reply_markup": ReplyKeyboardRemove()},
    {"chat_id": 7, "text": "x", "reply_markup": ForceReply()},
]
EDITS = [
    {
        "chat_id": 1001,
        "message_id": 5,
        "business_connection_id": None,
        "text": "Шаг 2",
        "reply_markup": INLINE,
    },
    {
        "chat_id": "1001",
        "message_id": 6,
        "business_connection_id": "bc-1",
        "text": "Шаг 3",
        "reply_markup": None,
    },
]
CASES = [(SEND, SendText, v) for v in SENDS] + [(EDIT, EditText, v) for v in EDITS]
CASES += [(ANSWER, AnswerCallbackQuery, {"callback_query_id": "q-1"})]


def _form(bot: Bot, method) -> list:
    """The multipart fields aiogram's HTTP session sends for the method."""
    return [
        (options["name"], value)
        for options, _, value in AiohttpSession().build_form_data(bot, method)._fields
    ]


@pytest.mark.parametrize(("assembled", "method", "values"), CASES)
@pytest.mark.parametrize("parse_mode", [None, "HTML"])
async def test_an_assembled_method_is_the_validated_one_on_the_wire(
    assembled, method, values, parse_mode
):
    bot = Bot(TOKEN, default=DefaultBotProperties(parse_mode=parse_mode))
    fast, validated = assembled(**values), method(**values)

    assert type(fast) is method
    assert fast == validated
    assert fast.__pydantic_fields_set__ == validated.__pydantic_fields_set__
    assert fast.__pydantic_private__ == validated.__pydantic_private__
    assert fast.model_dump() == validated.model_dump()
    assert fast.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    assert list(fast.__dict__) == list(validated.__dict__)
    assert _form(bot, fast) == _form(bot, validated)
    assert fast.reply_markup is validated.reply_markup if "reply_markup" in values else True
    await bot.session.close()


def test_each_assembled_method_is_its_own():
    one, two = SEND(**SENDS[0]), SEND(**SENDS[0])
    one.text = "changed"
    one.__pydantic_fields_set__.add("parse_mode")
    assert two.text == SEND(**SENDS[0]).text == "Привет"
    assert two.__pydantic_fields_set__ == {"chat_id", "text", "reply_markup"}


@pytest.mark.parametrize(
    "values",
    [
        {"chat_id": True, "text": "x", "reply_markup": None},  # bool: validation decides
        {"chat_id": 1, "text": "x"},  # not the assembled fields
        {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": []}},  # a dict
    ],
)
def test_other_values_go_through_validation(values):
    assert SEND(**values) == SendText(**values)


def test_a_value_validation_refuses_is_still_refused():
    with pytest.raises(ValidationError):
        SEND(chat_id=1.5, text="x", reply_markup=None)
    with pytest.raises(ValidationError):
        EDIT(**{**EDITS[0], "message_id": "five"})


def test_a_method_whose_default_could_be_mutated_is_refused():
    class Listy(SendMessage):
        entities: list = []  # noqa: RUF012 — the point of the test

    with pytest.raises(TypeError, match="mutated"):
        Assembled(Listy, {"chat_id": (int,), "text": (str,)}, chat_id=1, text="")
