"""The one registry of channels: name → factory(settings, deps) → the channel, or None when
its settings leave it off. `python -m bot` and the arq worker both build their channels
here; adding a channel is its module plus one line in REGISTRY."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aiogram import Bot
from aiohttp import web

from bot.clock import Clock
from bot.config import BusinessConfig
from bot.delivery.channel import Channel, ChannelSet
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.payments.gateway import PaymentWork
from bot.settings import Settings
from handlers.max import max_channel
from handlers.telegram_outbox import TelegramChannel
from handlers.vk import vk_channel
from handlers.whatsapp import whatsapp_channel
from handlers.yookassa_api import YooKassa
from handlers.yookassa_webhook import PUBLISHED_RANGES, YooKassaNotifications, networks


@dataclass
class ChannelDeps:
    """What channels are built from besides settings."""

    texts: Texts
    clock: Clock
    dialogs: DialogService | None = None  # None: send only (an arq worker)
    bots: dict[str, Bot] = field(default_factory=dict)  # Telegram: "client", "staff"


Factory = Callable[[Settings, ChannelDeps], Channel | None]


def _telegram(bot_name: str, channel: str) -> Factory:
    def build(settings: Settings, deps: ChannelDeps) -> Channel | None:
        bot = deps.bots.get(bot_name)
        if bot is None:
            return None
        return TelegramChannel(channel, bot, settings.payment_provider_token)

    return build


def _from_settings(make: Callable[..., Channel | None]) -> Factory:
    return lambda settings, deps: make(settings, deps.texts, deps.clock, deps.dialogs)


REGISTRY: dict[str, Factory] = {
    "telegram": _telegram("client", "telegram"),
    "staff": _telegram("staff", "staff"),  # the staff bot: where staff rows go
    "whatsapp": _from_settings(whatsapp_channel),
    "max": _from_settings(max_channel),
    "vk": _from_settings(vk_channel),
}


def payment_work(settings: Settings, config: BusinessConfig, texts: Texts) -> PaymentWork | None:
    """The YooKassa side of deposits (links, refunds), when a shop is set up."""
    if not (settings.yookassa_shop_id and settings.yookassa_secret_key):
        return None
    gateway = YooKassa(
        settings.yookassa_shop_id, settings.yookassa_secret_key, settings.yookassa_api_url
    )
    return PaymentWork(
        gateway, config, texts, settings.payment_return_url or settings.public_base_url
    )


def payment_notifications(settings: Settings, work: PaymentWork | None, clock: Clock):
    """The registrar of YooKassa's notification endpoint (a no-op without a shop)."""
    if work is None:
        return lambda app: None
    ranges = (
        settings.yookassa_allowed_ips.split(",")
        if settings.yookassa_allowed_ips
        else PUBLISHED_RANGES
    )
    hook = YooKassaNotifications(work, clock, networks(ranges), settings.yookassa_ip_header)
    return hook.register


def build_channels(
    settings: Settings, deps: ChannelDeps, registry: Mapping[str, Factory] = REGISTRY
) -> ChannelSet:
    """The channels the settings switch on, by name."""
    built = {name: make(settings, deps) for name, make in registry.items()}
    return ChannelSet({name: channel for name, channel in built.items() if channel is not None})


async def serve(
    settings: Settings,
    channels: ChannelSet,
    *registrars: Callable[[web.Application], None],
) -> web.AppRunner | None:
    """The web server on WEBHOOK_HOST:WEBHOOK_PORT, when anything needs one: the channels'
    webhooks, plus `registrars` (Telegram's webhooks, health and metrics)."""
    app = web.Application()
    for register in registrars:
        register(app)
    channels.mount(app.router)
    if not app.router.routes():
        return None
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    return runner
