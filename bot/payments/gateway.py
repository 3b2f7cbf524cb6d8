"""The payment provider as the core sees it (YooKassa's API v3 behind it: the adapter is
handlers/yookassa_api.py), and the timed work that talks to it: payment links for holds
outside Telegram, refunds owed, notifications' objects re-read before they are trusted.

Every call is idempotent on our side (an Idempotence-Key per deposit), so a tick that dies
half-way and runs again never creates a second payment or a second refund.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

from tortoise.transactions import in_transaction

from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Appointment, Client
from bot.payments.holds import YOOKASSA
from bot.payments.models import Deposit, DepositStatus
from bot.payments.settle import record_paid, record_refunded

log = logging.getLogger("priyom.payments")


class GatewayError(Exception):
    """The provider could not be reached or refused for now: the work is tried again."""


@dataclass(frozen=True)
class PaymentRequest:
    amount_kop: int
    description: str
    token: str  # our opaque id, sent as metadata and read back
    idempotence_key: str
    item: str  # the 54-FZ receipt's item
    vat_code: int
    phone: str | None  # the receipt's customer contact (digits, e.g. 79001234567)
    return_url: str


@dataclass(frozen=True)
class Payment:
    id: str
    status: str  # pending | waiting_for_capture | succeeded | canceled
    amount_kop: int
    currency: str
    token: str | None
    confirmation_url: str | None = None


@dataclass(frozen=True)
class Refund:
    id: str
    status: str  # pending | succeeded | canceled
    payment_id: str


class Gateway(Protocol):
    async def create_payment(self, request: PaymentRequest) -> Payment: ...
    async def get_payment(self, payment_id: str) -> Payment: ...
    async def refund(self, payment_id: str, amount_kop: int, idempotence_key: str) -> Refund: ...
    async def get_refund(self, refund_id: str) -> Refund: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class PaymentWork:
    gateway: Gateway
    config: BusinessConfig
    texts: Texts
    return_url: str

    async def run(self, now: dt.datetime) -> int:
        return await self.create_links(now) + await self.refunds(now)

    async def create_links(self, now: dt.datetime, limit: int = 20) -> int:
        """A YooKassa payment for every live hold without one; its link to the client."""
        rows = await Deposit.filter(
            status=DepositStatus.HELD,
            provider=YOOKASSA,
            payment_id__isnull=True,
            hold_until__gt=now,
        ).limit(limit)
        made = 0
        for deposit in rows:
            try:
                payment = await self.gateway.create_payment(await self._request(deposit))
            except GatewayError as exc:
                log.warning("payment_create_failed", extra={"deposit": deposit.id, "why": str(exc)})
                continue  # tried again next tick, until the hold runs out
            made += await self._send_link(deposit, payment, now)
        return made

    async def _request(self, deposit: Deposit) -> PaymentRequest:
        appointment = await Appointment.get(id=deposit.appointment_id)
        client = await Client.get_or_none(id=appointment.client_id)  # type: ignore[attr-defined]
        service = self.config.service(appointment.service_id)
        title = self.texts("payments.invoice_title", service=service.title if service else "")
        return PaymentRequest(
            amount_kop=deposit.amount_kop,
            description=title,
            token=deposit.token,
            idempotence_key=f"deposit-{deposit.token}",
            item=title,
            vat_code=self.config.deposits.vat_code,
            phone=client.phone.lstrip("+") if client and client.phone else None,
            return_url=self.return_url,
        )

    async def _send_link(self, deposit: Deposit, payment: Payment, now: dt.datetime) -> int:
        async with in_transaction():
            saved = await Deposit.filter(id=deposit.id, payment_id__isnull=True).update(
                payment_id=payment.id, confirmation_url=payment.confirmation_url
            )
            if not saved or not payment.confirmation_url:
                return 0
            minutes = max(1, int((deposit.hold_until - now).total_seconds() // 60))
            text = self.texts(
                "payments.link", amount=self.texts.money(deposit.amount_kop), minutes=minutes
            )
            button = (self.texts("payments.btn_pay"), "", payment.confirmation_url)
            await enqueue(
                bot="client",
                channel=deposit.channel,
                chat_id=deposit.chat_id,
                kind="pay_link",
                message=Message(text, [[button]]),
                dedup_key=f"pay-link:{deposit.id}",
                now=now,
                lead_id=deposit.lead_id,
            )
        return 1

    async def refunds(self, now: dt.datetime, limit: int = 20) -> int:
        """Ask for every refund owed (Telegram provider payments too: by their charge id)."""
        rows = await Deposit.filter(
            status=DepositStatus.REFUND_DUE, payment_id__isnull=False
        ).limit(limit)
        done = 0
        for deposit in rows:
            try:
                refund = await self.gateway.refund(
                    deposit.payment_id or "", deposit.amount_kop, f"refund-{deposit.token}"
                )
            except GatewayError as exc:
                log.warning("refund_failed", extra={"deposit": deposit.id, "why": str(exc)})
                break
            await Deposit.filter(id=deposit.id).update(refund_id=refund.id)
            if refund.status == "succeeded":
                done += await record_refunded(deposit, refund.id, self.texts, now)
        return done

    async def on_notification(self, event: str, object_id: str, now: dt.datetime) -> str:
        """A notification names an object; it is re-read from the API and only that is
        trusted. Returns what it did ("paid", "canceled", "refunded", "ignored")."""
        if event == "refund.succeeded":
            refund = await self.gateway.get_refund(object_id)
            deposit = await Deposit.get_or_none(payment_id=refund.payment_id)
            if deposit is None or refund.status != "succeeded":
                return "ignored"
            done = await record_refunded(deposit, refund.id, self.texts, now)
            return "refunded" if done else "ignored"
        payment = await self.gateway.get_payment(object_id)
        deposit = await Deposit.get_or_none(payment_id=payment.id)
        if deposit is None or payment.token != deposit.token:
            return "ignored"
        if payment.status == "succeeded" and payment.amount_kop == deposit.amount_kop:
            paid = await record_paid(deposit, self.texts, now, payment_id=payment.id)
            return "paid" if paid else "ignored"
        if payment.status == "canceled":
            return "canceled"  # the hold stays until it runs out: the client may pay again
        return "ignored"
