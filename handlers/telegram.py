"""Telegram adapter of the client bot: updates in → scenario inputs; replies → messages."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from bot.delivery.outbox import Sender
from bot.dialogs import DialogService
from bot.i18n import Texts
from handlers.inbound import typed_command
from handlers.telegram_payments import TelegramPayments
from scenarios.types import Input, InputKind, Reply

CHANNEL = "telegram"
log = logging.getLogger("priyom.telegram")


class Act(CallbackData, prefix="a", sep="|"):
    """A scenario button's action; `|` keeps the scenario's own `:` separators intact."""

    v: str


def make_bot(token: str, api_url: str = "") -> Bot:
    """A Bot that talks to Telegram, or to a local Bot API server when `api_url` is set."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else None
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=None))


def client_commands(texts: Texts) -> list[BotCommand]:
    """The menu shown in Telegram, from the /help text of the catalog."""
    commands = []
    for line in texts("help").splitlines():
        name, sep, description = line.partition(" — ")
        if sep and name.startswith("/"):
            commands.append(BotCommand(command=name[1:], description=description))
    return commands


def to_input(message: Message) -> Input:
    name = message.from_user.first_name if message.from_user else ""
    if message.contact is not None:
        return Input(
            InputKind.CONTACT,
            phone=message.contact.phone_number,
            name=message.contact.first_name or name,
        )
    text = message.text or ""
    if command := typed_command(text, name):
        return command
    if message.text is not None:
        return Input(InputKind.TEXT, text, name=name)
    return Input(
        InputKind.MEDIA,
        content_kind(message),
        arg=message.caption or "",
        name=name,
        file_id=attachment_ref(message),
    )


def content_kind(message: Message) -> str:
    """ "photo", "sticker", … (aiogram's ContentType is a str enum; keep its plain value)."""
    kind = message.content_type
    return str(getattr(kind, "value", kind))


def attachment_ref(message: Message) -> str:
    """`photo:<file id>` / `document:<file id>`: what a relay can pass on."""
    if message.photo:
        return f"photo:{message.photo[-1].file_id}"
    if message.document:
        return f"document:{message.document.file_id}"
    return ""


def inline_markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=b.text, url=b.url)
                if b.url
                else InlineKeyboardButton(text=b.text, callback_data=Act(v=b.action).pack())
                for b in row
            ]
            for row in reply.buttons
        ]
    )


def contact_markup(texts: Texts, reply: Reply) -> ReplyKeyboardMarkup:
    """Share-my-phone, and the reply's own buttons as keyboard text (a message has one
    markup): «◂ Назад» comes back as typed text, which the scenario understands."""
    rows = [[KeyboardButton(text=b.text) for b in row if not b.url] for row in reply.buttons]
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=texts("btn.share_phone"), request_contact=True)],
            *filter(None, rows),
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


class TelegramClientBot:
    """Wires the dialogue service to aiogram; one instance per client bot."""

    def __init__(self, dialogs: DialogService) -> None:
        self.dialogs = dialogs
        self.texts = dialogs.texts
        self.router = Router(name="client")
        TelegramPayments(dialogs.texts, dialogs.clock).register(self.router)
        self.router.callback_query.register(self.on_button, Act.filter())
        self.router.callback_query.register(self.on_stale_button)
        self.router.message.register(self.on_message, F.chat.type == "private")
        self._senders: dict[int, Sender] = {}

    def outbox_sender(self, bot: Bot) -> Sender:
        """Sends the rows a step queued (a booking's confirmation) right after its commit."""
        from handlers.telegram_outbox import TelegramChannel  # it imports Act from here

        if bot.id not in self._senders:
            self._senders[bot.id] = TelegramChannel(CHANNEL, bot)
        return self._senders[bot.id]

    async def on_message(self, message: Message, bot: Bot) -> None:
        chat_id = message.chat.id

        async def deliver(replies: Sequence[Reply]) -> None:
            await self.send(bot, chat_id, replies)

        await self.dialogs.handle(
            CHANNEL, chat_id, to_input(message), deliver, sender=self.outbox_sender(bot)
        )

    async def on_button(self, query: CallbackQuery, callback_data: Act, bot: Bot) -> None:
        await query.answer()
        message = query.message
        if not isinstance(message, Message):  # too old for Telegram to show us
            return
        name = query.from_user.first_name if query.from_user else ""

        async def deliver(replies: Sequence[Reply]) -> None:
            await self.send(bot, message.chat.id, replies, edit=message)

        inp = Input(InputKind.BUTTON, callback_data.v, name=name)
        await self.dialogs.handle(
            CHANNEL, message.chat.id, inp, deliver, sender=self.outbox_sender(bot)
        )

    async def on_stale_button(self, query: CallbackQuery) -> None:
        await query.answer()

    async def send(
        self, bot: Bot, chat_id: int, replies: Sequence[Reply], edit: Message | None = None
    ) -> None:
        for index, reply in enumerate(replies):
            if edit is not None and index == 0 and reply.edit and await self._edit(edit, reply):
                continue
            markup = (
                contact_markup(self.texts, reply) if reply.ask_contact else inline_markup(reply)
            )
            await bot.send_message(chat_id, reply.text, reply_markup=markup)

    async def _edit(self, message: Message, reply: Reply) -> bool:
        try:
            await message.edit_text(reply.text, reply_markup=inline_markup(reply))
        except TelegramBadRequest as exc:  # unchanged, or too old to edit: send anew
            log.debug("edit_failed", extra={"reason": exc.message})
            return False
        return True
