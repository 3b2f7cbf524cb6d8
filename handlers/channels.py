"""The client channels besides Telegram, and one outbox sender for all of them.

Staff rows go to the staff bot (Telegram); client rows to the client's own channel, so
reminders, follow-ups and a manager's relay reach people where they wrote.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from bot.clock import Clock
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.models import Outbox
from bot.outbox import Sender, Undeliverable
from bot.settings import Settings
from handlers.max import Max, max_channel
from handlers.telegram_outbox import TelegramSender
from handlers.vk import Vk, vk_channel
from handlers.whatsapp import WhatsApp, whatsapp_channel


class ChannelSender:
    def __init__(self, telegram: Sender, others: Mapping[str, Sender] | None = None) -> None:
        self.telegram = telegram
        self.others = dict(others or {})

    async def send(self, row: Outbox) -> int | None:
        if row.bot == "staff" or row.channel == "telegram":
            return await self.telegram.send(row)
        sender = self.others.get(row.channel)
        if sender is None:
            raise Undeliverable(f"the {row.channel} channel is not configured")
        return await sender.send(row)


@dataclass
class Channels:
    """WhatsApp, MAX and VK as configured (None: off)."""

    whatsapp: WhatsApp | None = None
    max: Max | None = None
    vk: Vk | None = None

    @classmethod
    def build(
        cls, settings: Settings, texts: Texts, clock: Clock, dialogs: DialogService | None = None
    ) -> Channels:
        return cls(
            whatsapp_channel(settings, texts, clock, dialogs),
            max_channel(settings, texts, clock, dialogs),
            vk_channel(settings, texts, clock, dialogs),
        )

    def pass_files_from(self, telegram: TelegramSender) -> None:
        """Photos cross between the staff bot and WhatsApp: a manager's is read from the staff
        bot and re-uploaded; a client's is read from Graph and sent to the staff bot."""
        if self.whatsapp is not None:
            self.whatsapp.fetch = telegram.fetch
            telegram.readers["whatsapp"] = self.whatsapp.graph.download
        if self.max is not None:
            telegram.readers["max"] = self.max.api.download
        if self.vk is not None:
            telegram.readers["vk"] = self.vk.api.download

    def senders(self) -> dict[str, Sender]:
        named = (("whatsapp", self.whatsapp), ("max", self.max), ("vk", self.vk))
        return {name: c for name, c in named if c}

    async def serve(
        self, settings: Settings, *registrars: Callable[[web.Application], None]
    ) -> web.AppRunner | None:
        """The webhook server on WEBHOOK_HOST:WEBHOOK_PORT, when a channel needs one;
        `registrars` add routes of their own (Telegram webhooks, health and metrics)."""
        app = web.Application()
        for register in registrars:
            register(app)
        if self.whatsapp is not None:
            self.whatsapp.register(app)
        if self.max is not None and settings.max_mode == "webhook":
            self.max.register(app)
        if self.vk is not None and settings.vk_mode == "webhook":
            self.vk.register(app)
        if not app.router.routes():
            return None
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        return runner

    async def close(self) -> None:
        if self.whatsapp is not None:
            await self.whatsapp.graph.close()
        if self.max is not None:
            with contextlib.suppress(Exception):
                await self.max.api.close()
        if self.vk is not None:
            await self.vk.api.close()
