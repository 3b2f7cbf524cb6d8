"""The Bot API calls a reply leaves by, lighter than aiogram's shortcuts (issue 16 item 6).

`SendText` and `EditText` are aiogram's own SendMessage and EditMessageText — the same
fields, defaults and request on the wire — whose answer is read as `SentMessage`, the
message id alone: validating the whole `Message` Telegram answers with (chat, sender,
text, keyboard) cost about fifteen times that, for an id. They are built from the three
or four fields a reply sets (`bot.send_message` spells out all twenty, defaults included,
for pydantic to validate each time), assembled without validation where the values are
plainly valid (handlers.telegram_assembled), and go out through `bot(method)`: the Bot's
session, its middlewares and error mapping, as every other call. Their answer,
`{"ok": true, "result": {"message_id": N, …}}`, is read without pydantic where it is
exactly that (`sent_answer`): validating it cost about 5 µs a call.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.methods import EditMessageText, Response, SendMessage
from aiogram.types import (
    ForceReply,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyMarkupUnion,
)
from pydantic import BaseModel, ConfigDict

from handlers.telegram_assembled import Assembled


class SentMessage(BaseModel):
    """A sent or edited message as far as we read it: its id (the rest is ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_id: int


class SendText(SendMessage):
    """sendMessage, answered with the sent message's id."""

    __returning__ = SentMessage


class EditText(EditMessageText):
    """editMessageText, answered with the message's id (True: an inline message's edit)."""

    __returning__ = SentMessage | bool


_RESPONSES = {returning: Response[returning] for returning in (SentMessage, SentMessage | bool)}
SENT_RETURNS = frozenset(_RESPONSES)
"""The return types whose answer `sent_answer` reads (their models held, so always the
very classes aiogram's `Response[...]` finds)."""
_VALIDATED = _RESPONSES[SentMessage].model_validate({"ok": True, "result": {"message_id": 1}})
_TEMPLATE = {**_VALIDATED.__dict__, "result": None}  # the unset fields as validation sets them
_new = object.__new__
_set = object.__setattr__


def sent_answer(returning: Any, data: object) -> Response[SentMessage] | None:
    """Telegram's answer to a send or an edit as validation reads it, where it is exactly
    `{"ok": true, "result": {"message_id": <int>, …}}` (the other keys of the message are
    ignored by `SentMessage` anyway); None for anything else, which validation reads — or
    refuses, a missing or wrong id as ever — as before."""
    if returning not in SENT_RETURNS or type(data) is not dict or len(data) != 2:
        return None
    result = data.get("result")
    if data.get("ok") is not True or type(result) is not dict:
        return None
    message_id = result.get("message_id")
    if type(message_id) is not int:
        return None
    sent = _new(SentMessage)
    _set(sent, "__dict__", {"message_id": message_id})
    _set(sent, "__pydantic_fields_set__", {"message_id"})
    _set(sent, "__pydantic_extra__", None)
    _set(sent, "__pydantic_private__", None)
    response = _new(_RESPONSES[returning])
    fields = _TEMPLATE.copy()
    fields["result"] = sent
    _set(response, "__dict__", fields)
    _set(response, "__pydantic_fields_set__", {"ok", "result"})
    _set(response, "__pydantic_extra__", None)
    _set(response, "__pydantic_private__", None)
    return response


NONE = type(None)
CHAT_ID = (int, str)
MARKUP = (NONE, InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, ForceReply)
SEND = Assembled(
    SendText,
    {"chat_id": CHAT_ID, "text": (str,), "reply_markup": MARKUP},
    chat_id=1,
    text="",
    reply_markup=None,
)
EDIT = Assembled(
    EditText,
    {
        "chat_id": CHAT_ID,
        "message_id": (int,),
        "business_connection_id": (NONE, str),
        "text": (str,),
        "reply_markup": (NONE, InlineKeyboardMarkup),
    },
    chat_id=1,
    message_id=1,
    business_connection_id=None,
    text="",
    reply_markup=None,
)


async def send_text(
    bot: Bot, chat_id: int | str, text: str, markup: ReplyMarkupUnion | None = None
) -> int:
    """Send a text message; its id."""
    sent = await bot(SEND(chat_id=chat_id, text=text, reply_markup=markup))
    return sent.message_id


async def edit_text(
    bot: Bot, message: Message, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the text and keyboard of one of the bot's messages (`Message.edit_text`'s
    request). TelegramBadRequest when Telegram refuses (unchanged, too old)."""
    await bot(
        EDIT(
            chat_id=message.chat.id,
            message_id=message.message_id,
            business_connection_id=message.business_connection_id,
            text=text,
            reply_markup=markup,
        )
    )
