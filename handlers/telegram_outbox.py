"""Telegram's side of the Channel port (bot/delivery/channel.py): one `TelegramChannel` per bot (the
client bot under the channel's name, the staff bot under its own), delivering outbox rows
and mapping Bot API errors to retry or give up. (Receiving is aiogram's Dispatcher, polling
or on the webhook, started by the composition root: two bots share one shutdown.)

The mapping is `verdict`, one table: only Telegram's final word about the recipient or
the request makes a row dead; anything that may pass (no connection, a timeout, 5xx,
429, a revoked token an operator will replace, an answer we could not read) is retried.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, LabeledPrice

from bot.delivery.channel import Files, Routes
from bot.delivery.outbox import RetryLater, Undeliverable
from handlers.inbound import queued_buttons
from handlers.telegram import inline_keyboard
from handlers.telegram_send import send_text

log = logging.getLogger("priyom.telegram.outbox")

PERMANENT: tuple[type[AiogramError], ...] = (
    TelegramForbiddenError,  # 403: bot blocked, user deactivated, bot kicked from the chat
    TelegramBadRequest,  # 400: chat not found, invalid request (text too long, bad markup…)
    TelegramEntityTooLarge,  # 413: the file will never fit (a TelegramNetworkError subclass)
    TelegramMigrateToChat,  # the group became a supergroup: this chat id is gone for good
)

if TYPE_CHECKING:  # adapters read rows; the ORM is the core's (bot/delivery/channel_store.py)
    from bot.models import Outbox
"""Errors that make a row dead. Everything else aiogram raises is transient:
TelegramNetworkError (refused, DNS, timeout), TelegramServerError (5xx), 401/404/409,
ClientDecodeError (a proxy's HTML page), and TelegramRetryAfter (429, waits as told)."""


def verdict(exc: AiogramError) -> RetryLater | Undeliverable:
    """What a Bot API error means for the row: wait and retry, or give up for good."""
    if isinstance(exc, TelegramRetryAfter):
        return RetryLater(exc.retry_after, "429 Too Many Requests")
    if isinstance(exc, PERMANENT):
        return Undeliverable(getattr(exc, "message", str(exc)))
    return RetryLater(0, f"{type(exc).__name__}: {exc}")  # 0: exponential backoff, capped


def markup(rows: list[list[list[str]]]) -> InlineKeyboardMarkup | None:
    """[[text, action] or [text, "", url], …] rows (an outbox payload's) as an inline keyboard."""
    return _keyboard(tuple(tuple(tuple(button) for button in row) for row in rows))


@functools.lru_cache(maxsize=1024)
def _keyboard(rows: tuple[tuple[tuple[str, ...], ...], ...]) -> InlineKeyboardMarkup | None:
    """`markup`, once per distinct payload keyboard (its every text, action and link)."""
    return inline_keyboard(queued_buttons(rows))


async def download(bot: Bot, file_id: str) -> bytes:
    """A file another bot received: file ids are per bot, so it is passed on as bytes."""
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    return buffer.getvalue()


class TelegramSender:
    """The Telegram bots as a bare outbox sender, without the other channels."""

    def __init__(self, bots: dict[str, Bot], provider_token: str = "") -> None:
        self.bots = bots  # "client", "staff": Telegram alone (tests, benchmarks)
        self.provider_token = provider_token

    async def send(self, row: Outbox) -> int | None:
        bot = self.bots.get(row.bot)
        if bot is None:
            raise Undeliverable(f"no '{row.bot}' bot is configured")
        try:
            return await self._send(bot, row)
        except AiogramError as exc:
            raise verdict(exc) from exc

    async def fetch(self, ref: str, fallback: Bot | None = None) -> tuple[str, bytes]:
        """("photo" | "document", bytes) of `<bot>/<kind>:<file id>`, a file one of our bots
        received; other channels use it to pass a manager's photo on."""
        source_name, _, rest = ref.partition("/")
        kind, _, file_id = rest.partition(":")
        bot = self.bots.get(source_name) or fallback
        if bot is None:
            raise Undeliverable(f"no '{source_name}' bot to fetch {kind} from")
        return kind, await download(bot, file_id)

    async def _send(self, bot: Bot, row: Outbox) -> int:
        return await send_row(bot, row, lambda ref: self.fetch(ref, bot), self.provider_token)


Fetch = Callable[[str], Awaitable[tuple[str, bytes]]]


async def send_invoice(bot: Bot, row: Outbox, provider_token: str) -> int:
    """A deposit's invoice (bot.payments.holds): RUB, integer kopecks, the opaque payload."""
    if not provider_token:
        raise Undeliverable("no PAYMENT_PROVIDER_TOKEN: invoices cannot be sent")
    invoice = row.payload["invoice"]
    message = await bot.send_invoice(
        row.chat_id,
        title=invoice["title"],
        description=invoice["description"],
        payload=invoice["payload"],
        provider_token=provider_token,
        currency=invoice["currency"],
        prices=[LabeledPrice(label=p["label"], amount=int(p["amount"])) for p in invoice["prices"]],
    )
    return message.message_id


async def send_row(bot: Bot, row: Outbox, fetch: Fetch, provider_token: str = "") -> int:
    """The row as one message: text with an inline keyboard, a chart, a passed-on file, or
    a deposit's invoice."""
    payload = row.payload
    text, keyboard = payload["text"], markup(payload.get("buttons") or [])
    if payload.get("invoice"):
        return await send_invoice(bot, row, provider_token)
    if payload.get("png"):  # a chart the core rendered (the weekly report)
        chart = BufferedInputFile(base64.b64decode(payload["png"]), filename="chart.png")
        message = await bot.send_photo(
            row.chat_id, chart, caption=text[:1024], reply_markup=keyboard
        )
    elif payload.get("photo"):
        kind, data = await fetch(payload["photo"])
        upload = BufferedInputFile(data, filename=f"{kind}.jpg" if kind == "photo" else kind)
        send = bot.send_photo if kind == "photo" else bot.send_document
        message = await send(row.chat_id, upload, caption=text[:1024], reply_markup=keyboard)
    else:
        return await send_text(bot, row.chat_id, text, keyboard)
    return message.message_id


class TelegramChannel:
    """One Telegram bot as a channel: the client bot (`telegram`) or the staff bot (`staff`)."""

    media = frozenset({"photo", "document"})

    def __init__(self, name: str, bot: Bot, provider_token: str = "") -> None:
        self.name, self.bot = name, bot
        self.provider_token = provider_token  # BotFather's payment provider token

    def mount(self, routes: Routes) -> None:
        """The webhook is aiogram's (handlers/telegram_webhook.py), mounted with the other bot."""

    async def receive(self) -> None:
        """The Dispatcher polls (or the webhook feeds it): started by bot/app.py."""

    async def send(self, row: Outbox, files: Files | None = None) -> int | None:
        async def fetch(ref: str) -> tuple[str, bytes]:
            if files is None:
                raise Undeliverable(f"no file source for {ref}")
            return await files.fetch(ref)

        try:
            return await send_row(self.bot, row, fetch, self.provider_token)
        except AiogramError as exc:
            raise verdict(exc) from exc

    async def download(self, file_id: str) -> bytes:
        return await download(self.bot, file_id)

    async def close(self) -> None:
        await self.bot.session.close()
