"""Whether a queued message is still true when its turn comes to be sent.

An outage may hold a message back for hours. Most messages are still worth delivering
however late (a booking confirmation, a manager's relay, a staff alert of a new lead),
but some would be wrong late: a reminder of a visit that has begun, moved or been
cancelled; an SLA escalation about a lead someone has taken since; a nudge to a client
who has written since. The sender asks just before sending (`bot.delivery.outbox.deliver`), so
the answer reflects the database at that moment; a stale row becomes SKIPPED.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from bot.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    OPEN_LEAD_STATUSES,
    Appointment,
    AppointmentStatus,
    Conversation,
    Lead,
    MessageLog,
    Outbox,
)
from bot.payments.models import Deposit, DepositStatus
from bot.waitlist_models import OfferStatus, WaitlistOffer

Check = Callable[[Outbox, dt.datetime], Awaitable[bool]]


async def _visit_holds(row: Outbox) -> bool:
    """A message about a visit holds while the visit is active and still starts then."""
    appointment = await Appointment.get_or_none(
        id=row.appointment_id, status__in=ACTIVE_APPOINTMENT_STATUSES
    )
    return appointment is not None and appointment.start == row.valid_start


async def _reminder(row: Outbox, now: dt.datetime) -> bool:
    """A reminder once the visit has begun is no reminder: skipped, never sent late."""
    return row.valid_start is None or now < row.valid_start


def sla_kind(row: Outbox) -> str:
    """The deadline an SLA row is about: bot.staffwork.sla keys it `sla:<lead>:<kind>:<chat>`."""
    parts = row.dedup_key.split(":")
    return parts[2] if len(parts) > 3 else ""


async def _sla(row: Outbox, now: dt.datetime) -> bool:
    """While the deadline it tells of is still unmet
    (the conditions of bot.staffwork.sla.deadlines)."""
    lead = await Lead.get_or_none(id=row.lead_id, status__in=OPEN_LEAD_STATUSES)
    if lead is None:
        return False
    kind = sla_kind(row)
    if kind in ("claim", "owner"):
        return lead.manager_id is None
    if kind == "human_reply":
        answered = MessageLog.filter(
            lead_id=lead.id, direction="out", author__startswith="staff:", at__gte=row.created_at
        )
        return not await answered.exists()
    if kind == "prebooking":
        pending = Appointment.filter(lead_id=lead.id, status=AppointmentStatus.PENDING)
        return await pending.exists()
    return True


async def _nudge(row: Outbox, now: dt.datetime) -> bool:
    """«Shall we go on?» makes no sense once the client has written again."""
    written = Conversation.filter(
        channel=row.channel, chat_id=row.chat_id, updated_at__gt=row.created_at
    )
    return not await written.exists()


async def _hold_live(row: Outbox, now: dt.datetime) -> bool:
    """An invoice or a payment link only while its hold is live (bot.payments.holds keys
    them `invoice:<deposit>` / `pay-link:<deposit>`): after that it could not be paid."""
    deposit_id = row.dedup_key.rpartition(":")[2]
    if not deposit_id.isdigit():
        return False
    live = Deposit.filter(id=int(deposit_id), status=DepositStatus.HELD, hold_until__gt=now)
    return await live.exists()


async def _waitlist_offer(row: Outbox, now: dt.datetime) -> bool:
    """An offer of a freed slot is worth sending only while it can still be taken: live,
    and nobody booked that time meanwhile (a staff move may take the time it freed in the
    same transaction). bot.booking.waitlist keys it `woffer:<offer id>`."""
    offer_id = row.dedup_key.removeprefix("woffer:")
    if not offer_id.isdigit():
        return True
    offer = await WaitlistOffer.get_or_none(
        id=int(offer_id), status=OfferStatus.OFFERED, expires_at__gt=now
    )
    if offer is None:
        return False
    taken = Appointment.filter(
        master_id=offer.master_id,
        status__in=ACTIVE_APPOINTMENT_STATUSES,
        start__lt=offer.end,
        end__gt=offer.start,
    )
    return not await taken.exists()


CHECKS: dict[str, Check] = {
    "reminder": _reminder,
    "sla": _sla,
    "nudge": _nudge,
    "invoice": _hold_live,
    "pay_link": _hold_live,
    "waitlist_offer": _waitlist_offer,
}
"""Kinds that can go stale; every other kind is delivered however late it is."""


async def still_true(row: Outbox, now: dt.datetime) -> bool:
    if row.appointment_id is not None and not await _visit_holds(row):
        return False
    check = CHECKS.get(row.kind)
    return True if check is None else await check(row, now)
