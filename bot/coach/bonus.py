"""Live bonus progress: after each booking that counts for pay, its manager hears where
they stand against the month's plan, computed by `/payroll`'s own functions
(`bot.numbers.payroll.payslips`: the same aggregates, the same arithmetic).

A booking counts as in payroll: not cancelled, and confirmed by the client or visited. The
timed work looks for bookings that started counting within the last day and queues one note
per booking (dedup key `bonus:<appointment>`), so every process and restart sends it once.
"""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import Q

from bot.config import BusinessConfig, PayPlan
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus, Outbox
from bot.numbers.kpi import Period, format_kop
from bot.numbers.payroll import Payslip, payslips
from bot.periods import month_label
from bot.staffwork.staff import active_member

FRESH = dt.timedelta(days=1)


def plural(texts: Texts, key: str, n: int) -> str:
    """«1 запись», «3 записи», «5 записей» from the catalog's three forms."""
    one, few, many = texts(key).split("|")
    if texts.locale != "ru":
        return f"{n} {one if n == 1 else many}"
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} {one}"
    return f"{n} {few if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else many}"


def progress_text(texts: Texts, slip: Payslip, year: int, month: int) -> str:
    lines = [texts("coach.bonus_title", month=month_label(year, month))]
    lines.append(texts("coach.bonus_count", bookings=slip.bookings, plan=slip.plan_bookings))
    if slip.extra_bookings:
        lines.append(
            texts(
                "coach.bonus_above",
                extra=slip.extra_bookings,
                rate=format_kop(slip.bonus_per_booking_kop),
                amount=format_kop(slip.bonus_kop),
            )
        )
    elif slip.bookings == slip.plan_bookings:
        lines.append(texts("coach.bonus_reached", rate=format_kop(slip.bonus_per_booking_kop)))
    else:
        left = slip.plan_bookings - slip.bookings
        lines.append(texts("coach.bonus_left", left=plural(texts, "coach.bookings_forms", left)))
    return "\n".join(lines)


async def _fresh(plans: dict[int, PayPlan], now: dt.datetime) -> list[Appointment]:
    """Bookings of planned managers that began to count for pay within the last day."""
    since = now - FRESH
    counted = Q(client_confirmed_at__gte=since) | Q(
        status=AppointmentStatus.CAME, client_confirmed_at__isnull=True, start__gte=since
    )
    return (
        await Appointment.filter(counted, lead__manager_id__in=list(plans))
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("lead")
    )


async def queue_progress(config: BusinessConfig, texts: Texts, now: dt.datetime) -> int:
    """One progress note per newly counted booking to its manager."""
    plans = {p.manager: p for p in config.payroll}
    if not plans:
        return 0
    bookings = await _fresh(plans, now)
    keys = {a.id: f"bonus:{a.id}" for a in bookings}
    sent = set(
        await Outbox.filter(dedup_key__in=list(keys.values())).values_list("dedup_key", flat=True)
    )
    queued = 0
    for appointment in bookings:
        if keys[appointment.id] in sent:
            continue
        plan = plans[appointment.lead.manager_id]
        if await active_member(plan.manager) is None:
            continue  # left the team: their pay is no longer theirs to follow here
        local = appointment.start.astimezone(config.tz)
        [slip] = await payslips([plan], Period.month(config, local.year, local.month))
        row = await enqueue(
            bot="staff",
            chat_id=plan.manager,
            kind="coach_bonus",
            message=Message(progress_text(texts, slip, local.year, local.month)),
            dedup_key=keys[appointment.id],
            now=now,
            lead_id=appointment.lead_id,
        )
        queued += row is not None
    return queued
