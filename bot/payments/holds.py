"""A booking that needs a deposit is a hold: it occupies the slot for `hold_minutes` while the
client pays, and is released by the timed work when unpaid.

Opening a hold writes the deposit row and the request to pay in the booking's transaction:
on Telegram an invoice (an outbox row the channel sends as sendInvoice), elsewhere nothing
yet: the timed work asks YooKassa for a payment and queues its link (bot.payments.gateway).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from bot.booking.booker import Booker
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus
from bot.payments.models import Deposit, DepositStatus
from bot.payments.rules import Quote, quote
from scenarios.actions import RetryHold

log = logging.getLogger("priyom.payments")
CURRENCY = "RUB"
TELEGRAM = "telegram"  # the provider Telegram Payments (a stored value, not a channel)
YOOKASSA = "yookassa"


@dataclass(frozen=True)
class Checkout:
    """Which ways of taking money are set up: the channels whose adapter sends in-chat
    invoices (Telegram Payments, named by the composition root), and a YooKassa shop."""

    invoice_channels: frozenset[str] = frozenset()
    yookassa: bool = False

    @classmethod
    def of(cls, provider_token: str, yookassa_shop_id: str, invoice_channel: str) -> Checkout:
        channels = frozenset({invoice_channel}) if provider_token else frozenset()
        return cls(invoice_channels=channels, yookassa=bool(yookassa_shop_id))

    def provider(self, channel: str) -> str | None:
        """How a client on `channel` pays, or None: then no hold (the deposit is paid on site)."""
        if channel in self.invoice_channels:
            return TELEGRAM
        return YOOKASSA if self.yookassa else None


async def no_shows_of(client_id: int | None) -> int:
    if client_id is None:
        return 0
    return await Appointment.filter(client_id=client_id, status=AppointmentStatus.NO_SHOW).count()


async def quote_for(
    config: BusinessConfig,
    service_id: str,
    price_kop: int,
    start: dt.datetime,
    client_id: int | None,
) -> Quote | None:
    """The deposit a booking of this client would need (None: none)."""
    service = config.service(service_id)
    if service is None:
        return None
    no_shows = await no_shows_of(client_id)
    return quote(config.deposits, service, price_kop, start.astimezone(config.tz), no_shows)


def invoice_of(deposit: Deposit, title: str, description: str, label: str) -> dict:
    """sendInvoice's arguments: the opaque token as the payload, the amount in kopecks."""
    return {
        "title": title[:32],
        "description": description[:255],
        "payload": deposit.token,
        "currency": CURRENCY,
        "prices": [{"label": label[:32], "amount": deposit.amount_kop}],
    }


async def open_hold(
    appointment: Appointment,
    found: Quote,
    provider: str,
    channel: str,
    chat_id: str,
    texts: Texts,
    config: BusinessConfig,
    now: dt.datetime,
) -> Deposit:
    """The deposit row of a fresh hold, and on Telegram its invoice (caller's transaction)."""
    deposit = await Deposit.create(
        appointment_id=appointment.id,
        channel=channel,
        chat_id=chat_id,
        lead_id=appointment.lead_id,  # type: ignore[attr-defined]
        token=secrets.token_urlsafe(18)[:24],
        amount_kop=found.amount_kop,
        rule=found.rule.value,
        hold_until=now + dt.timedelta(minutes=found.hold_minutes),
        refund_cutoff_hours=found.refund_cutoff_hours,
        provider=provider,
        created_at=now,
    )
    if provider == TELEGRAM:
        service = config.service(appointment.service_id)
        title = texts("payments.invoice_title", service=service.title if service else "")
        when = texts.moment(appointment.start.astimezone(config.tz))
        description = texts("payments.invoice_description", when=when, minutes=found.hold_minutes)
        invoice = invoice_of(deposit, title, description, texts("payments.invoice_label"))
        await enqueue(
            bot="client",
            channel=channel,
            chat_id=chat_id,
            kind="invoice",
            message=Message(description, invoice=invoice),
            dedup_key=f"invoice:{deposit.id}",
            now=now,
            lead_id=deposit.lead_id,
        )
    log.info(
        "deposit_held",
        extra={"deposit": deposit.id, "appointment": appointment.id, "provider": provider},
    )
    return deposit


async def release_unpaid_hold(
    deposit_id: int, booker: Booker, texts: Texts, config: BusinessConfig, now: dt.datetime
) -> bool:
    """Release a hold whose time ran out unpaid: the slot is freed, the client told, with one
    tap to try again. True when this call released it (a conditional update: once)."""
    async with in_transaction():
        released = await Deposit.filter(
            id=deposit_id, status=DepositStatus.HELD, hold_until__lte=now
        ).update(status=DepositStatus.RELEASED, closed_at=now)
        if not released:
            return False
        deposit = await Deposit.get(id=deposit_id)
        appointment = await Appointment.get_or_none(
            id=deposit.appointment_id, status=AppointmentStatus.HELD
        )
        if appointment is None:
            return True
        await booker.cancel(appointment)  # offers the time to the waitlist (bot.booking.waitlist)
        when = texts.moment(appointment.start.astimezone(config.tz))
        retry = RetryHold(appointment.id).pack()
        await enqueue(
            bot="client",
            channel=deposit.channel,
            chat_id=deposit.chat_id,
            kind="notice",
            message=Message(
                texts("payments.released", when=when),
                [[(texts("payments.btn_retry"), retry)]],
            ),
            dedup_key=f"hold-released:{deposit.id}",
            now=now,
            lead_id=deposit.lead_id,
        )
    log.info("hold_released", extra={"deposit": deposit_id, "appointment": appointment.id})
    return True


async def release_due(
    booker: Booker, texts: Texts, config: BusinessConfig, now: dt.datetime, limit: int = 100
) -> int:
    """Release every hold whose time ran out (the timed work's step)."""
    ids = (
        await Deposit.filter(status=DepositStatus.HELD, hold_until__lte=now)
        .order_by("hold_until")
        .limit(limit)
        .values_list("id", flat=True)
    )
    released = 0
    for deposit_id in ids:
        released += await release_unpaid_hold(deposit_id, booker, texts, config, now)
    return released
