"""The SLA watchdog: deadlines on the working-time clock, breaches recorded once and told.

- a lead waiting for a human, unclaimed for `claim_minutes` → a reminder to the managers;
- unclaimed for `owner_escalation_minutes` → an escalation to the owners;
- a client who asked for a person and got no staff message in `human_reply_minutes` →
  an escalation to the owners and managers;
- a missed call or a website form not called back in `callback_minutes` → a reminder to
  the managers (until one taps «Перезвонил», admin_bot/callbacks.py);
- a pre-booking not confirmed in `prebooking_confirm_minutes` → an alert to the managers;
- a visit unconfirmed at its last reminder (bot/booking/confirm_calls.py) not called about in
  `callback_minutes` → an escalation to the managers and owners.
Each breach is a `SlaBreach` row, unique per lead and kind (compliance is a KPI), written
in the transaction that queues its message, so several ticks never double it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot import metrics
from bot.booking import confirm_calls
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, to_staff
from bot.i18n import Texts
from bot.models import (
    OPEN_LEAD_STATUSES,
    Appointment,
    AppointmentStatus,
    Lead,
    LeadEvent,
    MessageLog,
    SlaBreach,
)
from bot.staffwork.actions import Claim
from bot.staffwork.alerts import recipients
from bot.staffwork.worktime import add_working_minutes, working_minutes_between

CALLBACK_REASONS = ("call", "form")  # intakes (bot/staffwork/intake.py) wait for a call back


@dataclass(frozen=True)
class Deadline:
    kind: str  # "claim" | "owner" | "human_reply" | "prebooking" | "callback" | "confirm_call"
    lead: Lead
    due_at: dt.datetime
    since: dt.datetime


async def deadlines(config: BusinessConfig, now: dt.datetime) -> list[Deadline]:
    """Every SLA deadline of the open leads that has passed and is still unmet."""
    sla = config.sla
    due: list[Deadline] = []
    waiting = await Lead.filter(
        status__in=OPEN_LEAD_STATUSES, attention_at__isnull=False, attention_at__lte=now
    )
    for lead in waiting:
        since = lead.attention_at
        assert since is not None
        if lead.manager_id is None:
            for kind, minutes in (
                ("claim", sla.claim_minutes),
                ("owner", sla.owner_escalation_minutes),
            ):
                due_at = add_working_minutes(config, since, minutes)
                if due_at <= now:
                    due.append(Deadline(kind, lead, due_at, since))
        if lead.handoff_reason in CALLBACK_REASONS and not await _called_back(lead):
            due_at = add_working_minutes(config, since, sla.callback_minutes)
            if due_at <= now:
                due.append(Deadline("callback", lead, due_at, since))
        if lead.handoff_reason == "asked" and not await _staff_answered(lead, since):
            due_at = add_working_minutes(config, since, sla.human_reply_minutes)
            if due_at <= now:
                due.append(Deadline("human_reply", lead, due_at, since))
    for appointment in await Appointment.filter(
        status=AppointmentStatus.PENDING, lead_id__isnull=False
    ):
        due_at = add_working_minutes(config, appointment.created_at, sla.prebooking_confirm_minutes)
        lead = await Lead.get_or_none(id=appointment.lead_id, status__in=OPEN_LEAD_STATUSES)
        if due_at <= now and lead is not None:
            due.append(Deadline("prebooking", lead, due_at, appointment.created_at))
    callback = dt.timedelta(minutes=sla.callback_minutes)
    for call, lead, start in await confirm_calls.unanswered(now):
        # working time, but never later than that long before the visit itself
        due_at = min(add_working_minutes(config, call.at, sla.callback_minutes), start - callback)
        if max(due_at, call.at) <= now:
            due.append(Deadline("confirm_call", lead, due_at, call.at))
    return due


async def _called_back(lead: Lead) -> bool:
    return await LeadEvent.filter(lead_id=lead.id, kind="called").exists()


async def _staff_answered(lead: Lead, since: dt.datetime) -> bool:
    return await MessageLog.filter(
        lead_id=lead.id, direction="out", author__startswith="staff:", at__gte=since
    ).exists()


async def check_sla(
    config: BusinessConfig, t: Texts, owner_ids: frozenset[int], now: dt.datetime
) -> int:
    """Record and tell each newly breached deadline; returns how many."""
    known = set(await SlaBreach.all().values_list("lead_id", "kind"))
    told = 0
    for deadline in await deadlines(config, now):
        if (deadline.lead.id, deadline.kind) in known:
            continue
        told += await _record(deadline, config, t, owner_ids, now)
    return told


async def _record(
    deadline: Deadline,
    config: BusinessConfig,
    t: Texts,
    owner_ids: frozenset[int],
    now: dt.datetime,
) -> int:
    lead = deadline.lead
    minutes = round(working_minutes_between(config, deadline.since, now))
    text = t(f"sla.{deadline.kind}", id=lead.id, minutes=minutes)
    buttons = [[(t("staff.btn.claim"), Claim(lead.id).pack())]] if lead.manager_id is None else []
    managers = await recipients(config, owner_ids, lead.id)
    chats = {
        "claim": managers,
        "prebooking": managers,
        "callback": managers,
        "owner": sorted(owner_ids),
        "human_reply": sorted(owner_ids | set(managers)),
        "confirm_call": sorted(owner_ids | set(managers)),
    }[deadline.kind]
    try:
        async with in_transaction():
            await SlaBreach.create(
                lead=lead, kind=deadline.kind, due_at=deadline.due_at, detected_at=now
            )
            await to_staff(
                chats,
                kind="sla",
                message=Message(text, buttons),
                key=f"{lead.id}:{deadline.kind}",
                now=now,
                lead_id=lead.id,
            )
    except IntegrityError:  # another tick recorded it first
        return 0
    metrics.SLA_BREACHES.labels(deadline.kind).inc()
    return 1
