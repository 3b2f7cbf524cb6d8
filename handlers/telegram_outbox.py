"""Delivers outbox rows through the Telegram bots, mapping Bot API errors to retry or give up."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.models import Outbox
from bot.outbox import RetryLater, Undeliverable
from handlers.telegram import Act

log = logging.getLogger("priyom.telegram.outbox")


def markup(rows: list[list[list[str]]]) -> InlineKeyboardMarkup | None:
    """[[text, action] or [text, "", url], …] rows as an inline keyboard."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=b[0], url=b[2])
                if len(b) > 2
                else InlineKeyboardButton(text=b[0], callback_data=Act(v=b[1]).pack())
                for b in row
            ]
            for row in rows
        ]
    )


async def download(bot: Bot, file_id: str) -> bytes:
    """A file another bot received: file ids are per bot, so it is passed on as bytes."""
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    return buffer.getvalue()


class TelegramSender:
    def __init__(self, bots: dict[str, Bot]) -> None:
        self.bots = bots  # "client", "staff"
        # Other channels' files (a WhatsApp client's photo to the staff bot): source → reader.
        self.readers: dict[str, Callable[[str], Awaitable[bytes]]] = {}

    async def send(self, row: Outbox) -> int | None:
        bot = self.bots.get(row.bot)
        if bot is None:
            raise Undeliverable(f"no '{row.bot}' bot is configured")
        try:
            return await self._send(bot, row)
        except TelegramRetryAfter as exc:
            raise RetryLater(exc.retry_after, "429 Too Many Requests") from exc
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            raise Undeliverable(exc.message) from exc
        except (
            TelegramServerError,
            TelegramNetworkError,
            TelegramAPIError,
            ClientDecodeError,
        ) as exc:
            raise RetryLater(0, str(exc)) from exc  # 0: exponential backoff, then dead

    async def fetch(self, ref: str, fallback: Bot | None = None) -> tuple[str, bytes]:
        """("photo" | "document", bytes) of `<bot>/<kind>:<file id>`, a file one of our bots
        received; other channels use it to pass a manager's photo on."""
        source_name, _, rest = ref.partition("/")
        kind, _, file_id = rest.partition(":")
        if source_name in self.readers:
            return kind, await self.readers[source_name](file_id)
        bot = self.bots.get(source_name) or fallback
        if bot is None:
            raise Undeliverable(f"no '{source_name}' bot to fetch {kind} from")
        return kind, await download(bot, file_id)

    async def _send(self, bot: Bot, row: Outbox) -> int:
        payload = row.payload
        text, keyboard = payload["text"], markup(payload.get("buttons") or [])
        if payload.get("png"):  # a chart the core rendered (the weekly report)
            chart = BufferedInputFile(base64.b64decode(payload["png"]), filename="chart.png")
            message = await bot.send_photo(
                row.chat_id, chart, caption=text[:1024], reply_markup=keyboard
            )
        elif payload.get("photo"):
            kind, data = await self.fetch(payload["photo"], bot)
            upload = BufferedInputFile(data, filename=f"{kind}.jpg" if kind == "photo" else kind)
            send = bot.send_photo if kind == "photo" else bot.send_document
            message = await send(row.chat_id, upload, caption=text[:1024], reply_markup=keyboard)
        else:
            message = await bot.send_message(row.chat_id, text, reply_markup=keyboard)
        return message.message_id
