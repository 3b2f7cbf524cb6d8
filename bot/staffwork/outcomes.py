"""After a visit ends, ask its master (or the managers) «Пришёл / Неявка» — once."""

from __future__ import annotations

import datetime as dt

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.config import BusinessConfig
from bot.delivery.outbox import Message, to_staff
from bot.i18n import Texts
from bot.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    Client,
    OutcomePrompt,
    StaffMember,
    StaffRole,
)
from bot.numbers.amounts import parse_rubles
from bot.staffwork.actions import Came, NoShow

LOOKBACK = dt.timedelta(days=2)
MAX_PAID_KOP = 100_000_000  # 1 000 000 ₽: more than that for one visit is a typo


def valid_paid(kopecks: int | None) -> bool:
    """A typed amount paid is positive and sane."""
    return kopecks is not None and 0 < kopecks <= MAX_PAID_KOP


def parse_paid(text: str) -> int | None:
    """«1500», «1 500», «1500,50 ₽», «1500 руб» → kopecks; None unless valid_paid.
    The one rouble parser (bot/numbers/amounts.py) reads it; the bounds are a visit's."""
    if "e" in text.casefold():  # Decimal's exponent: «1e3» is no amount a person types
        return None
    try:
        kopecks = parse_rubles(text.strip().rstrip("."))
    except ValueError:
        return None
    return kopecks if valid_paid(kopecks) else None


async def outcome_askees(master_id: str, owner_ids: frozenset[int]) -> list[int]:
    """The master's own account if they have one, else the managers, else the owners."""
    for query in (
        StaffMember.filter(role=StaffRole.MASTER, master_id=master_id, active=True),
        StaffMember.filter(role=StaffRole.MANAGER, active=True),
    ):
        ids = [m.telegram_id for m in await query.order_by("id")]
        if ids:
            return ids
    return sorted(owner_ids)


def outcome_buttons(appointment_id: int, t: Texts) -> list[list[tuple[str, str]]]:
    """Only the appointment id: who may press and what was paid are read again on press."""
    return [
        [
            (t("staff.btn.came"), Came(appointment_id).pack()),
            (t("staff.btn.noshow"), NoShow(appointment_id).pack()),
        ]
    ]


async def prompt_outcomes(
    config: BusinessConfig, t: Texts, owner_ids: frozenset[int], now: dt.datetime
) -> int:
    """Queue the question for every visit that ended and was not asked about yet."""
    asked = await OutcomePrompt.filter(at__gte=now - LOOKBACK - LOOKBACK).values_list(
        "appointment_id", flat=True
    )
    ended = await Appointment.filter(
        status__in=ACTIVE_APPOINTMENT_STATUSES, end__lte=now, end__gt=now - LOOKBACK
    ).exclude(id__in=list(asked))
    queued = 0
    for appointment in ended:
        try:
            async with in_transaction():
                await OutcomePrompt.create(appointment_id=appointment.id, at=now)
                message = await _question(appointment, config, t)
                chats = await outcome_askees(appointment.master_id, owner_ids)
                await to_staff(
                    chats,
                    kind="outcome",
                    message=message,
                    key=str(appointment.id),
                    now=now,
                    lead_id=appointment.lead_id,
                )
                queued += 1
        except IntegrityError:  # another process asked first
            continue
    return queued


async def _question(appointment: Appointment, config: BusinessConfig, t: Texts) -> Message:
    client = await Client.get_or_none(id=appointment.client_id) if appointment.client_id else None
    service = config.service(appointment.service_id)
    text = t(
        "staff.outcome_ask",
        client=(client and client.name) or "—",
        service=service.title if service else appointment.service_id,
        when=t.moment(appointment.start.astimezone(config.tz)),
    )
    return Message(text, outcome_buttons(appointment.id, t))
