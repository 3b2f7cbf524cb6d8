"""Confirmations that act: a visit whose client has not confirmed it by the time its last
reminder went out becomes a «позвонить клиенту» task for the managers.

The task has the shape of a missed call's call back (bot/staffwork/intake.py): a card with
«Перезвонить» (admin_bot/callbacks.py claims the lead, shows the number and records the
call as a "called" event). Its SLA clock (bot/staffwork/sla.py, kind "confirm_call") starts
when the task is made and stops when the call is recorded, the client confirms or cancels,
or the visit begins; it runs out after `callback_minutes` of working time, or that long
before the visit at the latest (a morning visit's task is made the evening before). One
`ConfirmCall` row per visit, written in the transaction that queues the card, so ticks of
several processes make one task.
"""

from __future__ import annotations

import datetime as dt
import logging

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from bot.booking.reminders import reminder_key, reminder_plan
from bot.booking.reshuffle import visit_line
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, to_staff
from bot.i18n import Texts
from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, Client, Lead, LeadEvent, Outbox
from bot.staffwork.alerts import recipients
from bot.staffwork.intake import PHONE_CHANNEL, intake_buttons
from bot.waitlist_models import ConfirmCall

log = logging.getLogger("priyom.confirm_calls")
LOOKBACK = dt.timedelta(days=2)  # a task is about a visit within a day of its last reminder


async def flag_unconfirmed(
    config: BusinessConfig, t: Texts, owner_ids: frozenset[int], now: dt.datetime
) -> int:
    """Make a call task of every visit whose last reminder is queued and that its client has
    not confirmed; returns how many were made."""
    if not config.reminders.offsets_hours:
        return 0
    last = min(config.reminders.offsets_hours)
    visits = await Appointment.filter(
        status__in=ACTIVE_APPOINTMENT_STATUSES,
        client_confirmed_at__isnull=True,
        lead_id__isnull=False,
        start__gt=now,
        # the last reminder is `last` hours before, or earlier out of the quiet hours
        start__lte=now + dt.timedelta(hours=last, days=1),
    ).exclude(id__in=Subquery(ConfirmCall.filter(at__gte=now - LOOKBACK).values("appointment_id")))
    keys = {_last_key(config, v): v for v in visits}
    keys.pop(None, None)
    if not keys:
        return 0
    reminded = await Outbox.filter(kind="reminder", dedup_key__in=list(keys)).values_list(
        "dedup_key", flat=True
    )
    made = 0
    for key in reminded:
        made += await _task(config, t, owner_ids, keys[key], now)
    return made


def _last_key(config: BusinessConfig, visit: Appointment) -> str | None:
    """The dedup key of the visit's last reminder; None when it gets none."""
    plan = reminder_plan(config, visit.start, visit.created_at)
    return reminder_key(visit, plan[-1][0]) if plan else None


async def _task(
    config: BusinessConfig, t: Texts, owner_ids: frozenset[int], visit: Appointment, now
) -> int:
    lead = await Lead.get_or_none(id=visit.lead_id)
    if lead is None:
        return 0
    client = await Client.get_or_none(id=visit.client_id) if visit.client_id else None
    channel = client.channel if client else PHONE_CHANNEL
    text = t("confirm_call.alert", line=await visit_line(config, t, visit))
    chats = await recipients(config, owner_ids, lead.id)
    try:
        async with in_transaction():
            await ConfirmCall.create(appointment_id=visit.id, lead_id=lead.id, at=now)
            await to_staff(
                chats,
                kind="alert",
                message=Message(text, intake_buttons(lead.id, channel, t)),
                key=f"confirmcall:{visit.id}",
                now=now,
                lead_id=lead.id,
            )
    except IntegrityError:  # another tick made it first
        return 0
    log.info("confirm_call", extra={"lead": lead.id, "appointment": visit.id})
    return 1


async def unanswered(now: dt.datetime) -> list[tuple[ConfirmCall, Lead, dt.datetime]]:
    """Tasks still to do, with their visit's start: the visit ahead, active and unconfirmed,
    and no call recorded since the task was made (the SLA watchdog's view)."""
    calls = await ConfirmCall.filter(at__gte=now - LOOKBACK)
    if not calls:
        return []
    starts = dict(
        await Appointment.filter(
            id__in=[c.appointment_id for c in calls],
            status__in=ACTIVE_APPOINTMENT_STATUSES,
            client_confirmed_at__isnull=True,
            start__gt=now,
        ).values_list("id", "start")
    )
    found = []
    for call in calls:
        if call.appointment_id not in starts:
            continue
        if await LeadEvent.filter(lead_id=call.lead_id, kind="called", at__gte=call.at).exists():
            continue
        lead = await Lead.get_or_none(id=call.lead_id)
        if lead is not None:
            found.append((call, lead, starts[call.appointment_id]))
    return found
