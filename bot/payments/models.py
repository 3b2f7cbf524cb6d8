"""A deposit asked for one booking: its hold, its payment and its refund (migration 8)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class DepositStatus(StrEnum):
    HELD = "held"  # the slot is held; the client has not paid yet
    PAID = "paid"  # paid: the booking stands
    RELEASED = "released"  # unpaid in time: the slot was freed
    REFUND_DUE = "refund_due"  # a refund is owed; the timed work asks the provider for it
    REFUNDED = "refunded"
    KEPT = "kept"  # a late cancel or a no-show: the business keeps it, as its policy says


class Deposit(Model):
    """One per booking that needs money up front. `token` is the opaque id the client's
    payment carries (Telegram's invoice payload, YooKassa's metadata): never the row id."""

    id = fields.IntField(primary_key=True)
    appointment_id = fields.IntField(unique=True)
    channel = fields.CharField(max_length=16)
    chat_id = fields.CharField(max_length=64)
    lead_id = fields.IntField(null=True)
    token = fields.CharField(max_length=32, unique=True)
    amount_kop = fields.BigIntField()
    rule = fields.CharField(max_length=8)  # bot.payments.rules.RuleKind
    status = fields.CharEnumField(DepositStatus, max_length=12, default=DepositStatus.HELD)
    hold_until = fields.DatetimeField()
    refund_cutoff_hours = fields.IntField()
    provider = fields.CharField(max_length=12)  # "telegram" | "yookassa"
    payment_id = fields.CharField(max_length=64, null=True, unique=True)  # YooKassa's id
    confirmation_url = fields.CharField(max_length=512, null=True)
    telegram_charge_id = fields.CharField(max_length=128, null=True)
    provider_charge_id = fields.CharField(max_length=128, null=True)
    refund_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    paid_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)  # released, refunded or kept

    class Meta:
        table = "deposit"
        indexes = (Index(fields=("status", "hold_until"), name="idx_deposit_status_hold"),)
