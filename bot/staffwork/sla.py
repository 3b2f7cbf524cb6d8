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
from bot.waitlist_models import ConfirmCall

CALLBACK_REASONS = ("call", "form")  # intakes (bot/staffwork/intake.py) wait for a call back


@dataclass(frozen=True)
class Deadline:
    kind: str  # "claim" | "owner" | "human_reply" | "prebooking" | "callback" | "confirm_call"
    lead: Lead
    due_at: dt.datetime
    since: dt.datetime


async def deadlines(config: BusinessConfig, now: dt.datetime) -> list[Deadline]:
    """Every SLA deadline of the open leads that has passed, is still unmet and was not
    recorded yet. Runs every second, so it reads only what can be due: a working minute is
    at least a minute, so nothing waiting for less than the shortest SLA is read, and a
    recorded breach costs no further query."""
    waiting = await Lead.filter(
        status__in=OPEN_LEAD_STATUSES,
        attention_at__isnull=False,
        attention_at__lte=now - dt.timedelta(minutes=_shortest(config)),
    )
    pending = await Appointment.filter(
        status=AppointmentStatus.PENDING,
        lead_id__isnull=False,
        created_at__lte=now - dt.timedelta(minutes=config.sla.prebooking_confirm_minutes),
    )
    calls = await confirm_calls.unanswered(now)
    lead_ids = {lead.id for lead in waiting} | {a.lead_id for a in pending}
    lead_ids |= {lead.id for _, lead, _ in calls}
    known = set(
        await SlaBreach.filter(lead_id__in=lead_ids).values_list("lead_id", "kind")
        if lead_ids
        else []
    )
    due: list[Deadline] = []
    for lead in waiting:
        due += await _lead_deadlines(config, lead, known, now)
    for appointment in pending:
        if (appointment.lead_id, "prebooking") in known:
            continue
        due_at = add_working_minutes(
            config, appointment.created_at, config.sla.prebooking_confirm_minutes
        )
        if due_at > now:
            continue
        lead = await Lead.get_or_none(id=appointment.lead_id, status__in=OPEN_LEAD_STATUSES)
        if lead is not None:
            due.append(Deadline("prebooking", lead, due_at, appointment.created_at))
    due += _confirm_call_deadlines(config, calls, known, now)
    return due


def _confirm_call_deadlines(
    config: BusinessConfig,
    calls: list[tuple[ConfirmCall, Lead, dt.datetime]],
    known: set[tuple[int, str]],
    now: dt.datetime,
) -> list[Deadline]:
    """A call about an unconfirmed visit is due after `callback_minutes` of working time,
    but never later than that long before the visit itself."""
    minutes = config.sla.callback_minutes
    ahead = dt.timedelta(minutes=minutes)
    due = []
    for call, lead, start in calls:
        due_at = min(add_working_minutes(config, call.at, minutes), start - ahead)
        if (lead.id, "confirm_call") not in known and max(due_at, call.at) <= now:
            due.append(Deadline("confirm_call", lead, due_at, call.at))
    return due


def _shortest(config: BusinessConfig) -> int:
    sla = config.sla
    return min(
        sla.claim_minutes,
        sla.owner_escalation_minutes,
        sla.callback_minutes,
        sla.human_reply_minutes,
    )


async def _lead_deadlines(
    config: BusinessConfig, lead: Lead, known: set[tuple[int, str]], now: dt.datetime
) -> list[Deadline]:
    """The passed, unmet deadlines of one waiting lead not recorded yet."""
    sla, since = config.sla, lead.attention_at
    assert since is not None
    minutes = {}
    if lead.manager_id is None:
        minutes["owner"] = sla.owner_escalation_minutes
        if lead.handoff_reason not in CALLBACK_REASONS:  # its call-back reminder offers the claim
            minutes["claim"] = sla.claim_minutes
    if lead.handoff_reason in CALLBACK_REASONS:
        minutes["callback"] = sla.callback_minutes
    if lead.handoff_reason == "asked":
        minutes["human_reply"] = sla.human_reply_minutes
    found = []
    for kind, limit in minutes.items():
        due_at = add_working_minutes(config, since, limit)
        if (lead.id, kind) in known or due_at > now:
            continue
        if kind == "callback" and await _called_back(lead):
            continue
        if kind == "human_reply" and await _staff_answered(lead, since):
            continue
        found.append(Deadline(kind, lead, due_at, since))
    return found


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
    told = 0
    for deadline in await deadlines(config, now):
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
