"""Telegram adapter of the client bot: updates in → scenario inputs; replies → messages."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from aiogram import Bot, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)

from bot.delivery.outbox import Sender
from bot.dialogs import DialogService
from bot.i18n import Texts
from handlers.inbound import typed_command
from handlers.telegram_assembled import Assembled
from handlers.telegram_filters import private_chat
from handlers.telegram_payments import TelegramPayments
from handlers.telegram_send import edit_text, send_text
from handlers.telegram_session import TelegramSession
from scenarios.types import Button, Input, InputKind, Reply

CHANNEL = "telegram"
log = logging.getLogger("priyom.telegram")


class Act(CallbackData, prefix="a", sep="|"):
    """A scenario button's action; `|` keeps the scenario's own `:` separators intact."""

    v: str


ACT_PREFIX = "a|"  # what `Act` writes before the action: the wire format of every button


def pack_action(action: str) -> str:
    """`Act(v=action).pack()` as a string operation, with its checks (no `|` in the action,
    64 bytes at most): a pydantic model per button cost more than the rest of a reply."""
    if "|" in action:
        raise ValueError(f"separator '|' can not be used in the action {action!r}")
    data = ACT_PREFIX + action
    if len(data.encode()) > MAX_CALLBACK_LENGTH:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def unpack_action(data: str | None) -> str | None:
    """The action an `Act` payload carries (`Act.unpack(data).v`); None where `Act` refuses
    it. The action is only a claim: the scenario re-validates it (scenarios.actions.unpack)."""
    if not data or not data.startswith(ACT_PREFIX):
        return None
    action = data[len(ACT_PREFIX) :]
    return None if "|" in action else action


async def act_filter(query: CallbackQuery) -> dict[str, str] | bool:
    """`Act.filter()` without the pydantic round trip: the handler gets `action`. Async:
    aiogram runs a plain function filter in a worker thread."""
    action = unpack_action(query.data)
    return False if action is None else {"action": action}


def make_bot(token: str, api_url: str = "") -> Bot:
    """A Bot that talks to Telegram, or to a local Bot API server when `api_url` is set."""
    api = TelegramAPIServer.from_base(api_url) if api_url else PRODUCTION
    session = TelegramSession(api=api)
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=None))


def client_commands(texts: Texts) -> list[BotCommand]:
    """The menu shown in Telegram, from the /help text of the catalog."""
    commands = []
    for line in texts("help").splitlines():
        name, sep, description = line.partition(" — ")
        if sep and name.startswith("/"):
            commands.append(BotCommand(command=name[1:], description=description))
    return commands


ANSWER = Assembled(AnswerCallbackQuery, {"callback_query_id": (str,)}, callback_query_id="q")


def answered(query: CallbackQuery) -> AnswerCallbackQuery:
    """The press's answer without text (`query.answer()` without its defaults), to return."""
    return ANSWER(callback_query_id=query.id)


def receipt_of(bot: Bot, update: Update) -> str:
    """The update's receipt: Telegram numbers updates per bot, and delivers one again
    (webhook or getUpdates) until it is acknowledged, which a process killed between its
    step's commit and the acknowledgement never did (bot.dialogs applies it once)."""
    return f"{bot.id}:{update.update_id}"


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
    return inline_keyboard(reply.buttons)


def inline_keyboard(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """The buttons as aiogram's keyboard, built once per distinct layout (`_keyboard`), and
    found by the buttons' very tuple where the scenario shows a kept one again (its
    catalog keyboards, a kept slot page: about two replies in three): a tuple of frozen
    buttons of strings never changes, and it is held with its keyboard, so its id is
    never another tuple's."""
    if not buttons:
        return None
    shown = _SHOWN.get(id(buttons))
    if shown is not None and shown[0] is buttons:
        return shown[1]
    markup = _keyboard(layout(buttons))
    if len(_SHOWN) >= SHOWN_KEPT:
        _SHOWN.clear()
    _SHOWN[id(buttons)] = (buttons, markup)
    return markup


SHOWN_KEPT = 4096
_SHOWN: dict[int, tuple[tuple[tuple[Button, ...], ...], InlineKeyboardMarkup]] = {}


Layout = tuple[tuple[str, str, str, int] | int, ...]


def layout(buttons: tuple[tuple[Button, ...], ...]) -> Layout:
    """Every button's text, action, link and row, then the number of rows: the keyboard's
    whole content as a tuple of strings and ints, hashed and compared without a Python
    call per button (a tuple of dataclasses calls `__hash__` and `__eq__` for each)."""
    key: list = [(b.text, b.action, b.url, i) for i, row in enumerate(buttons) for b in row]
    key.append(len(buttons))
    return tuple(key)


@functools.lru_cache(maxsize=4096)
def _keyboard(layout: Layout) -> InlineKeyboardMarkup:
    """The keyboard of a layout, built once (about 10 µs to validate) from the layout
    itself, so a keyboard only ever goes out with the very buttons it was built from.
    Shared by every reply showing those buttons: nothing changes a keyboard once built."""
    *buttons, rows = layout
    keyboard: list[list[InlineKeyboardButton]] = [[] for _ in range(rows)]
    for text, action, url, row in buttons:
        keyboard[row].append(inline_button(Button(text, action, url)))
    return InlineKeyboardMarkup(inline_keyboard=keyboard)


@functools.lru_cache(maxsize=8192)
def inline_button(button: Button) -> InlineKeyboardButton:
    """A button as aiogram's model, built once per distinct button (validating one costs
    about 15 µs, and the same «Назад», services and slots are shown over and over). The
    keyboard is built anew around them; nothing mutates a button once sent."""
    if button.url:
        return InlineKeyboardButton(text=button.text, url=button.url)
    return InlineKeyboardButton(text=button.text, callback_data=pack_action(button.action))


def contact_markup(texts: Texts, reply: Reply) -> ReplyKeyboardMarkup:
    """Share-my-phone, and the reply's own buttons as keyboard text (a message has one
    markup): «◂ Назад» comes back as typed text, which the scenario understands."""
    return contact_keyboard(texts("btn.share_phone"), reply.buttons)


@functools.lru_cache(maxsize=256)
def contact_keyboard(share: str, buttons: tuple[tuple[Button, ...], ...]) -> ReplyKeyboardMarkup:
    """`contact_markup`'s keyboard, built once per label and buttons."""
    rows = [[KeyboardButton(text=b.text) for b in row if not b.url] for row in buttons]
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=share, request_contact=True)],
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
        self.router.callback_query.register(self.on_button, act_filter)
        self.router.callback_query.register(self.on_stale_button)
        self.router.message.register(self.on_message, private_chat)
        self._senders: dict[int, Sender] = {}

    def outbox_sender(self, bot: Bot) -> Sender:
        """Sends the rows a step queued (a booking's confirmation) right after its commit."""
        sender = self._senders.get(bot.id)
        if sender is None:
            from handlers.telegram_outbox import TelegramChannel  # it imports Act from here

            sender = self._senders[bot.id] = TelegramChannel(CHANNEL, bot)
        return sender

    async def on_message(self, message: Message, bot: Bot, event_update: Update) -> None:
        chat_id = message.chat.id

        async def deliver(replies: Sequence[Reply]) -> None:
            await self.send(bot, chat_id, replies)

        await self.dialogs.handle(
            CHANNEL,
            chat_id,
            to_input(message),
            deliver,
            receipt=receipt_of(bot, event_update),
            sender=self.outbox_sender(bot),
        )

    async def on_button(
        self, query: CallbackQuery, action: str, bot: Bot, event_update: Update
    ) -> AnswerCallbackQuery:
        """The press's step; its answer (the spinner off) is returned, not called: a webhook
        carries it in its 200 after the step (handlers.telegram_webhook), polling calls it."""
        message = query.message
        if not isinstance(message, Message):  # too old for Telegram to show us
            return answered(query)
        name = query.from_user.first_name if query.from_user else ""

        async def deliver(replies: Sequence[Reply]) -> None:
            await self.send(bot, message.chat.id, replies, edit=message)

        inp = Input(InputKind.BUTTON, action, name=name)
        await self.dialogs.handle(
            CHANNEL,
            message.chat.id,
            inp,
            deliver,
            receipt=receipt_of(bot, event_update),
            sender=self.outbox_sender(bot),
        )
        return answered(query)

    async def on_stale_button(self, query: CallbackQuery) -> AnswerCallbackQuery:
        return answered(query)

    async def send(
        self, bot: Bot, chat_id: int, replies: Sequence[Reply], edit: Message | None = None
    ) -> None:
        for index, reply in enumerate(replies):
            if (
                edit is not None
                and index == 0
                and reply.edit
                and await self._edit(bot, edit, reply)
            ):
                continue
            markup = (
                contact_markup(self.texts, reply) if reply.ask_contact else inline_markup(reply)
            )
            await send_text(bot, chat_id, reply.text, markup)

    async def _edit(self, bot: Bot, message: Message, reply: Reply) -> bool:
        try:
            await edit_text(bot, message, reply.text, inline_markup(reply))
        except TelegramBadRequest as exc:  # unchanged, or too old to edit: send anew
            log.debug("edit_failed", extra={"reason": exc.message})
            return False
        return True
