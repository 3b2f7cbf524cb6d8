"""The Bot API calls a reply leaves by, lighter than aiogram's shortcuts (issue 16 item 6).

`SendText` and `EditText` are aiogram's own SendMessage and EditMessageText — the same
fields, defaults and request on the wire — whose answer is read as `SentMessage`, the
message id alone: validating the whole `Message` Telegram answers with (chat, sender,
text, keyboard) cost about fifteen times that, for an id. They are built from the three
or four fields a reply sets (`bot.send_message` spells out all twenty, defaults included,
for pydantic to validate each time), assembled without validation where the values are
plainly valid (handlers.telegram_assembled), and go out through `bot(method)`: the Bot's
session, its middlewares and error mapping, as every other call.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.methods import EditMessageText, SendMessage
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
