"""Telegram Payments for the client bot: the pre-checkout answer and the successful payment.

Telegram asks before it charges (`pre_checkout_query`, to be answered within 10 s): the
core re-checks that the hold is live and the amount and currency are the ones asked for
(bot.payments.settle), else the answer is ok=false with a polite reason. The successful
payment then confirms the booking once and keeps both charge ids.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import Message, PreCheckoutQuery

from bot.clock import Clock
from bot.i18n import Texts
from bot.payments.settle import pre_checkout, record_telegram_payment

log = logging.getLogger("priyom.telegram.payments")


async def paid(message: Message) -> bool:
    """`F.successful_payment` as a coroutine (aiogram runs a plain filter in a thread)."""
    return message.successful_payment is not None


class TelegramPayments:
    def __init__(self, texts: Texts, clock: Clock) -> None:
        self.texts, self.clock = texts, clock

    def register(self, router: Router) -> None:
        """Before the client bot's own message handler: a payment is not a dialogue step."""
        router.pre_checkout_query.register(self.on_pre_checkout)
        router.message.register(self.on_paid, paid)

    async def on_pre_checkout(self, query: PreCheckoutQuery) -> None:
        refusal = await pre_checkout(
            query.invoice_payload, query.currency, query.total_amount, self.clock.now()
        )
        if refusal is None:
            await query.answer(ok=True)
            return
        log.info("pre_checkout_refused", extra={"why": refusal.value})
        await query.answer(ok=False, error_message=self.texts(f"payments.refuse.{refusal}"))

    async def on_paid(self, message: Message) -> None:
        paid = message.successful_payment
        if paid is None:
            return
        await record_telegram_payment(
            paid.invoice_payload,
            str(message.chat.id),
            paid.currency,
            paid.total_amount,
            (paid.telegram_payment_charge_id, paid.provider_payment_charge_id),
            self.texts,
            self.clock.now(),
        )
