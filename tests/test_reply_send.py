"""A reply's way out made lighter (issue 16 item 6) and still the same on the wire: the
client bot's sendMessage/editMessageText/answerCallbackQuery requests equal aiogram's
shortcuts' requests, the message id read back from the light answer is the one Telegram
gave, a keyboard built once per set of buttons carries only those buttons, and an edit
Telegram refuses ("message is not modified") is sent anew, as before."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import CallbackQuery, Message
from prometheus_client import REGISTRY

from bot import metrics
from bot.clock import FakeClock
from bot.i18n import Texts
from handlers.telegram import (
    SHOWN_KEPT,
    TelegramClientBot,
    answered,
    contact_markup,
    inline_keyboard,
    inline_markup,
)
from handlers.telegram_outbox import markup
from handlers.telegram_pace import Pace
from handlers.telegram_send import (
    EditText,
    SendText,
    edit_text,
    send_text,
)
from scenarios.types import Button, Reply
from tests.fakes.bot_api import FakeBotApi, FakeUser

TOKEN = "123456:reply-send-token"
ANNA = FakeUser(id=1001, first_name="Анна")
SLOTS = (
    (Button("10:00", "slot:anna:1"), Button("11:00", "slot:anna:2")),
    (Button("◂ Назад", "back"), Button("Политика", url="https://x.ru/p")),
)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture(params=[None, "HTML"], ids=["plain", "html-default"])
async def bot(api: FakeBotApi, request: pytest.FixtureRequest) -> AsyncIterator[Bot]:
    """The client bot as `make_bot` builds it, and one with a parse mode by default (the
    lighter methods keep aiogram's defaults, resolved from the Bot as before)."""
    bot = api.make_bot(TOKEN, parse_mode=request.param)
    try:
        yield bot
    finally:
        await bot.session.close()


def _params(api: FakeBotApi, method: str) -> list[dict]:
    return [call.params for call in api.calls(TOKEN, method)]


@pytest.mark.parametrize("chat", [ANNA.id, str(ANNA.id)], ids=["int", "str (outbox row)"])
async def test_send_text_is_send_messages_request_and_reads_back_its_id(api, bot, chat):
    keyboard = inline_markup(Reply("?", SLOTS))
    full = await bot.send_message(chat, "Выберите <b>время</b>", reply_markup=keyboard)
    light = await send_text(bot, chat, "Выберите <b>время</b>", keyboard)

    first, second = _params(api, "sendMessage")
    assert second == first
    sent = api.sent(TOKEN, ANNA.id)
    assert (full.message_id, light) == (sent[0]["message_id"], sent[1]["message_id"])
    assert light != full.message_id
    assert sent[1]["reply_markup"] == sent[0]["reply_markup"]


async def test_edit_text_is_edit_text_shortcuts_request(api, bot):
    one = await bot.send_message(ANNA.id, "Шаг 1")
    two = await bot.send_message(ANNA.id, "Шаг 1")
    keyboard = inline_markup(Reply("?", SLOTS))
    await one.edit_text("Шаг 2", reply_markup=keyboard)
    await edit_text(bot, two, "Шаг 2", keyboard)

    first, second = _params(api, "editMessageText")
    assert first.pop("message_id") == one.message_id
    assert second.pop("message_id") == two.message_id
    assert second == first
    assert [m["text"] for m in api.sent(TOKEN, ANNA.id)] == ["Шаг 2", "Шаг 2"]


async def test_the_returned_answer_is_query_answers_request(api, bot):
    def pressed(query_id: str) -> CallbackQuery:  # Telegram takes one answer per query
        return CallbackQuery.model_validate(
            {"id": query_id, "from": ANNA.to_dict(), "chat_instance": "1", "data": "a|back"},
            context={"bot": bot},
        )

    await pressed("q-1").answer()
    await bot(answered(pressed("q-2")))
    first, second = _params(api, "answerCallbackQuery")
    assert (first, second) == ({"callback_query_id": "q-1"}, {"callback_query_id": "q-2"})


async def test_an_edit_telegram_refuses_as_not_modified_is_sent_anew(api, bot):
    client = TelegramClientBot(
        SimpleNamespace(
            texts=Texts("ru"), clock=FakeClock(dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
        )
    )
    reply = Reply("Выберите время", SLOTS, edit=True)
    shown: Message = await bot.send_message(
        ANNA.id, reply.text, reply_markup=inline_markup(reply), parse_mode=None
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await edit_text(bot, shown, reply.text, inline_markup(reply))

    await client.send(bot, ANNA.id, [reply], edit=shown)

    sent = api.sent(TOKEN, ANNA.id)
    assert [m["text"] for m in sent] == [reply.text, reply.text]
    assert sent[1]["message_id"] != shown.message_id
    assert sent[1]["reply_markup"] == sent[0]["reply_markup"]


def _actions(keyboard) -> list[list[str | None]]:
    return [[b.callback_data or b.url for b in row] for row in keyboard.inline_keyboard]


def test_a_keyboard_is_built_once_per_set_of_buttons_and_carries_only_those():
    other = ((Button("10:00", "slot:boris:1"), Button("11:00", "slot:anna:2")), SLOTS[1])
    first, again = inline_markup(Reply("a", SLOTS)), inline_markup(Reply("b", SLOTS))
    theirs = inline_markup(Reply("a", other))
    assert again is first  # built once
    assert theirs is not first  # same shape and labels, another chat's actions
    assert _actions(first) == [["a|slot:anna:1", "a|slot:anna:2"], ["a|back", "https://x.ru/p"]]
    assert _actions(theirs)[0] == ["a|slot:boris:1", "a|slot:anna:2"]
    assert inline_keyboard(()) is None


def test_a_keyboard_is_keyed_by_its_whole_layout():
    one, two = Button("10:00", "slot:anna:1"), Button("11:00", "slot:anna:2")
    shapes = [((one, two),), ((one,), (two,)), ((one,), (), (two,)), ((one, two), ()), ((),)]
    keyboards = [inline_keyboard(shape) for shape in shapes]
    assert len({id(k) for k in keyboards}) == len(shapes)
    assert [[len(row) for row in k.inline_keyboard] for k in keyboards] == [
        [2],
        [1, 1],
        [1, 0, 1],
        [2, 0],
        [0],
    ]
    assert inline_keyboard(((Button("10:00", "slot:anna:1"), two),)) is keyboards[0]
    # the layout holds every field of a button: a new one must be added to it
    assert [f.name for f in dataclasses.fields(Button)] == ["text", "action", "url"]


def test_a_keyboard_found_by_its_buttons_tuple_is_never_another_tuples():
    """`inline_keyboard` finds a kept tuple's keyboard by the tuple itself: tuples made and
    dropped one after another reuse their ids, and each must still get its own buttons,
    past the memo's bound too."""
    for n in range(SHOWN_KEPT + 50):
        buttons = ((Button(f"{n}", f"slot:anna:{n}"),),)
        assert _actions(inline_keyboard(buttons)) == [[f"a|slot:anna:{n}"]]
        assert inline_keyboard(buttons) is inline_keyboard(buttons)
        del buttons  # its id is free for the next tuple
    kept = SLOTS
    assert inline_keyboard(kept) is inline_keyboard(tuple(list(kept)))  # one layout, one keyboard


def test_an_outbox_rows_keyboard_is_its_own_payloads():
    rows = [
        [["10:00", "slot:anna:1"], ["11:00", "slot:anna:2"]],
        [["Политика", "", "https://x.ru/p"]],
    ]
    other = [
        [["10:00", "slot:anna:3"], ["11:00", "slot:anna:2"]],
        [["Политика", "", "https://x.ru/p"]],
    ]
    assert _actions(markup(rows)) == [["a|slot:anna:1", "a|slot:anna:2"], ["https://x.ru/p"]]
    assert _actions(markup(other))[0] == ["a|slot:anna:3", "a|slot:anna:2"]
    assert markup([]) is None


def test_the_contact_keyboard_is_built_per_label_and_buttons():
    texts = Texts("ru")
    back = ((Button("◂ Назад", "back"),),)
    keyboard = contact_markup(texts, Reply("phone?", back, ask_contact=True))
    assert contact_markup(texts, Reply("again?", back, ask_contact=True)) is keyboard
    assert [[b.text for b in row] for row in keyboard.keyboard] == [
        [texts("btn.share_phone")],
        ["◂ Назад"],
    ]
    assert keyboard.keyboard[0][0].request_contact
    en = contact_markup(Texts("en"), Reply("phone?", back, ask_contact=True))
    assert en.keyboard[0][0].text == Texts("en")("btn.share_phone") != texts("btn.share_phone")


async def test_the_lighter_methods_keep_their_place_in_the_sending_pace():
    """handlers.telegram_pace paces what puts a new message into a chat, by the method's
    class name: a lighter send waits its turn as sendMessage did; an edit and a button's
    answer still do not."""
    paced: list[str] = []

    class Limiter:
        async def pace(self, name: str, chat: str) -> None:
            paced.append(chat)

    async def request(bot, method):
        return True

    pace = Pace(Limiter(), "client")
    await pace(request, None, SendText(chat_id=7, text="hi"))
    await pace(request, None, EditText(chat_id=8, message_id=1, text="hi"))
    await pace(request, None, AnswerCallbackQuery(callback_query_id="q"))
    await pace(request, None, SendMessage(chat_id=9, text="hi"))
    assert paced == ["7", "9"]


def test_each_send_is_counted_on_its_channels_and_bots_counter():
    def sample(name: str, channel: str, bot: str) -> float:
        labels = {"channel": channel, "bot": bot}
        return REGISTRY.get_sample_value(name, labels) or 0.0

    sent = "priyom_messages_sent_total"
    before = [sample(sent, "telegram", "client"), sample(sent, "telegram", "staff")]
    dead = sample("priyom_messages_failed_total", "telegram", "client")
    for ok in (True, True, False):
        metrics.delivered("telegram", "client", ok)
    metrics.delivered("telegram", "staff", True)
    assert sample(sent, "telegram", "client") == before[0] + 2
    assert sample(sent, "telegram", "staff") == before[1] + 1
    assert sample("priyom_messages_failed_total", "telegram", "client") == dead + 1
