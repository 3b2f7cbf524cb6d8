"""What a payment's answers do to a hold: Telegram's pre-checkout and successful payment,
YooKassa's re-read payment, a client's cancel (refund or keep, as the policy says).

Nothing a payment carries is trusted: the opaque token finds the deposit, and its amount,
currency and live hold are checked against the database. Every change is a conditional
update, so a repeated answer or notification changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import logging
from enum import StrEnum

from tortoise.transactions import in_transaction

from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus, LeadStatus
from bot.payments.holds import CURRENCY
from bot.payments.models import Deposit, DepositStatus
from bot.payments.rules import refundable
from bot.staffwork.leads import can_move, lead_of, move_lead

log = logging.getLogger("priyom.payments")


class Refusal(StrEnum):
    """Why a pre-checkout is refused: each is a polite text in the payments catalog."""

    UNKNOWN = "unknown"  # no such deposit (a forged payload)
    EXPIRED = "expired"  # the hold ran out or was released
    CHANGED = "changed"  # the amount or currency is not the one asked for


async def pre_checkout(
    token: str, currency: str, total_kop: int, now: dt.datetime
) -> Refusal | None:
    """None when the payment may go ahead: the hold is live and the amount unchanged."""
    deposit = await Deposit.get_or_none(token=token) if token else None
    if deposit is None:
        return Refusal.UNKNOWN
    if deposit.status != DepositStatus.HELD or deposit.hold_until <= now:
        return Refusal.EXPIRED
    if currency != CURRENCY or total_kop != deposit.amount_kop:
        return Refusal.CHANGED
    held = Appointment.filter(id=deposit.appointment_id, status=AppointmentStatus.HELD)
    return None if await held.exists() else Refusal.EXPIRED


async def record_paid(
    deposit: Deposit,
    texts: Texts,
    now: dt.datetime,
    *,
    telegram_charge_id: str | None = None,
    provider_charge_id: str | None = None,
    payment_id: str | None = None,
) -> bool:
    """Confirm the booking once for a paid deposit; True when this call did it. Money that
    comes after the hold was released is owed back (REFUND_DUE) and the client told so."""
    async with in_transaction():
        paid = await Deposit.filter(id=deposit.id, status=DepositStatus.HELD).update(
            status=DepositStatus.PAID,
            paid_at=now,
            **_charges(telegram_charge_id, provider_charge_id, payment_id),
        )
        if not paid:
            late = await Deposit.filter(id=deposit.id, status=DepositStatus.RELEASED).update(
                status=DepositStatus.REFUND_DUE,
                **_charges(telegram_charge_id, provider_charge_id, payment_id),
            )
            if late:
                await _tell(deposit, "payments.paid_too_late", texts, now, "late")
            return False
        appointment = await Appointment.get(id=deposit.appointment_id)
        appointment.status = AppointmentStatus.CONFIRMED
        appointment.paid_kop = deposit.amount_kop
        await appointment.save(update_fields=["status", "paid_kop"])
        lead = await lead_of(appointment.lead_id)  # type: ignore[attr-defined]
        if lead is not None and can_move(lead.status, LeadStatus.CONFIRMED):
            await move_lead(lead, LeadStatus.CONFIRMED, actor="client", now=now, note="deposit")
        await _tell(deposit, "payments.paid", texts, now, "paid", amount=deposit.amount_kop)
    log.info("deposit_paid", extra={"deposit": deposit.id, "appointment": deposit.appointment_id})
    return True


def _charges(telegram: str | None, provider: str | None, payment: str | None) -> dict:
    found = {
        "telegram_charge_id": telegram,
        "provider_charge_id": provider,
        "payment_id": payment or provider,  # Telegram's YooKassa charge id is its payment id
    }
    return {k: v for k, v in found.items() if v}


async def record_telegram_payment(
    token: str,
    chat_id: str,
    currency: str,
    total_kop: int,
    charge_ids: tuple[str, str],
    texts: Texts,
    now: dt.datetime,
) -> bool:
    """Telegram's successful_payment: its payload, chat, currency and amount re-checked
    against the deposit before it confirms anything; both charge ids kept."""
    deposit = await Deposit.get_or_none(token=token) if token else None
    if deposit is None or deposit.chat_id != chat_id:
        log.warning("payment_for_unknown_deposit")
        return False
    if currency != CURRENCY or total_kop != deposit.amount_kop:
        log.warning("payment_amount_mismatch", extra={"deposit": deposit.id})
        return False
    telegram, provider = charge_ids
    return await record_paid(
        deposit, texts, now, telegram_charge_id=telegram, provider_charge_id=provider
    )


async def _tell(
    deposit: Deposit, key: str, texts: Texts, now: dt.datetime, tag: str, amount: int = 0
) -> None:
    text = texts(key, amount=texts.money(amount or deposit.amount_kop))
    await enqueue(
        bot="client",
        channel=deposit.channel,
        chat_id=deposit.chat_id,
        kind="notice",
        message=Message(text),
        dedup_key=f"deposit-{tag}:{deposit.id}",
        now=now,
        lead_id=deposit.lead_id,
    )


async def deposit_on_cancel(appointment: Appointment, texts: Texts, now: dt.datetime) -> None:
    """A client's cancel (caller's transaction): an unpaid hold is closed; a paid deposit is
    owed back before the cutoff and kept after it, and the client is told which."""
    deposit = await Deposit.get_or_none(appointment_id=appointment.id)
    if deposit is None:
        return
    if deposit.status == DepositStatus.HELD:
        await Deposit.filter(id=deposit.id, status=DepositStatus.HELD).update(
            status=DepositStatus.RELEASED, closed_at=now
        )
        return
    if deposit.status != DepositStatus.PAID:
        return
    back = refundable(appointment.start, now, deposit.refund_cutoff_hours)
    target = DepositStatus.REFUND_DUE if back else DepositStatus.KEPT
    changed = await Deposit.filter(id=deposit.id, status=DepositStatus.PAID).update(
        status=target, closed_at=None if back else now
    )
    if changed:
        key = "payments.refund_coming" if back else "payments.kept"
        await _tell(deposit, key, texts, now, target.value)


async def keep_on_no_show(appointment_id: int, now: dt.datetime) -> bool:
    """A no-show keeps the paid deposit (the policy shown before paying)."""
    return bool(
        await Deposit.filter(appointment_id=appointment_id, status=DepositStatus.PAID).update(
            status=DepositStatus.KEPT, closed_at=now
        )
    )


async def owe_back(appointment_id: int, texts: Texts, now: dt.datetime) -> bool:
    """A paid deposit owed back in full (the business cancelled, or an owner refunds it);
    the timed work asks the provider. True when this call did it."""
    deposit = await Deposit.get_or_none(appointment_id=appointment_id, status=DepositStatus.PAID)
    if deposit is None:
        deposit = await Deposit.get_or_none(
            appointment_id=appointment_id, status=DepositStatus.KEPT
        )
    if deposit is None:
        return False
    changed = await Deposit.filter(id=deposit.id, status=deposit.status).update(
        status=DepositStatus.REFUND_DUE, closed_at=None
    )
    if changed:
        await _tell(deposit, "payments.refund_coming_staff", texts, now, "refund_due")
    return bool(changed)


async def record_refunded(deposit: Deposit, refund_id: str, texts: Texts, now: dt.datetime) -> bool:
    """The provider says the refund went through: once."""
    async with in_transaction():
        done = await Deposit.filter(id=deposit.id, status=DepositStatus.REFUND_DUE).update(
            status=DepositStatus.REFUNDED, refund_id=refund_id, closed_at=now
        )
        if done:
            await _tell(deposit, "payments.refunded", texts, now, "refunded")
    return bool(done)
