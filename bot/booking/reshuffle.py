"""Visits a schedule change displaced: each client is asked in their own channel, with
one-tap alternatives, and nobody's visit is silently lost.

Every displaced visit gets a `Reshuffle` row in the state WAITING and ends MOVED (the client
took another time or master), CANCELLED (by the client, with the reason) or FLAGGED (no answer
by `staff.reshuffle_answer_minutes`, or no chat to ask in: a manager calls). The messages go
through the outbox, tied to the visit, so a visit moved or cancelled meanwhile is not asked.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging

from tortoise.exceptions import IntegrityError

from bot.booking.booker import Booker
from bot.booking.slots import Slot, is_offerable
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue, to_staff
from bot.i18n import Texts
from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, Client
from bot.schedule_models import Reshuffle, ReshuffleOutcome
from bot.staffwork.alerts import recipients
from scenarios.actions import CancelVisit, TakeOffer

log = logging.getLogger("priyom.reshuffle")
OPEN = (ReshuffleOutcome.WAITING, ReshuffleOutcome.FLAGGED)


async def offers(booker: Booker, visit: Appointment) -> list[Slot]:
    """At most two alternatives: the nearest other time with the same master, and the same
    time with another master who does the service (both by the slot engine's rules)."""
    config, now = booker.config, booker.clock.now()
    service = config.service(visit.service_id)
    if service is None:
        return []
    today = now.astimezone(config.tz).date()
    last = today + dt.timedelta(days=config.booking.horizon_days)
    changes = await booker.changes(service.masters, now - dt.timedelta(days=1))
    slots = await booker.free_slots(service, visit.addon_ids, today, last, changes)
    same_master = (s for s in slots if s.master_id == visit.master_id)
    found = list(itertools.islice(same_master, 1))
    busy = await booker.busy(service.masters, now)
    for master_id in service.masters:
        slot = Slot(visit.start, visit.end, master_id)
        if master_id != visit.master_id and is_offerable(
            config, service, visit.addon_ids, slot, busy, now, changes
        ):
            found.append(slot)
            break
    return found


async def ask_clients(
    booker: Booker,
    texts: Texts,
    owner_ids: frozenset[int],
    override_id: int,
    visits: list[Appointment],
) -> int:
    """Ask every displaced client (once per visit); flag the ones nobody can ask."""
    config, now = booker.config, booker.clock.now()
    answer_by = now + dt.timedelta(minutes=config.staff.reshuffle_answer_minutes)
    asked = 0
    for visit in visits:
        try:
            await Reshuffle.create(
                appointment_id=visit.id,
                override_id=override_id,
                outcome=ReshuffleOutcome.WAITING,
                asked_at=now,
                answer_by=answer_by,
            )
        except IntegrityError:
            continue  # displaced before and still open: asked already
        client = await Client.get_or_none(id=visit.client_id, erased_at__isnull=True)
        if client is None or client.channel == "phone":
            await _flag(config, texts, owner_ids, visit.id, now)
            continue
        await enqueue(
            bot="client",
            channel=client.channel,
            chat_id=client.channel_user_id,
            kind="reshuffle",
            message=Message(*_question(config, texts, visit, await offers(booker, visit))),
            dedup_key=f"reshuffle:{visit.id}:{override_id}",
            now=now,
            lead_id=visit.lead_id,
            appointment_id=visit.id,
            valid_start=visit.start,
        )
        asked += 1
    log.info("reshuffle_asked", extra={"override": override_id, "visits": len(visits)})
    return asked


def _question(config: BusinessConfig, t: Texts, visit: Appointment, slots: list[Slot]):
    tz = config.tz
    service = config.service(visit.service_id)
    text = t(
        "reshuffle.ask",
        when=t.moment(visit.start.astimezone(tz)),
        service=service.title if service else visit.service_id,
    )
    rows = []
    for slot in slots:
        master = config.master(slot.master_id)
        label = t(
            "reshuffle.btn_offer",
            when=t.moment(slot.start.astimezone(tz)),
            master=master.name if master else slot.master_id,
        )
        rows.append([(label, TakeOffer(visit.id, slot.master_id, slot.start).pack())])
    rows.append([(t("reshuffle.btn_cancel"), CancelVisit(visit.id).pack())])
    return text, rows


async def resolve(appointment_id: int, outcome: ReshuffleOutcome, now: dt.datetime, new_id=None):
    """The client moved or cancelled a displaced visit (no-op for any other visit)."""
    await Reshuffle.filter(appointment_id=appointment_id, outcome__in=OPEN).update(
        outcome=outcome, resolved_at=now, new_appointment_id=new_id
    )


async def flag_unanswered(
    config: BusinessConfig, texts: Texts, owner_ids: frozenset[int], now: dt.datetime
) -> int:
    """Waiting past the answer time: flagged for managers to call (one alert per visit)."""
    due = await Reshuffle.filter(outcome=ReshuffleOutcome.WAITING, answer_by__lte=now).values_list(
        "appointment_id", flat=True
    )
    flagged = 0
    for appointment_id in due:
        flagged += await _flag(config, texts, owner_ids, appointment_id, now)
    return flagged


async def _flag(config, texts: Texts, owner_ids, appointment_id: int, now: dt.datetime) -> int:
    visit = await Appointment.get_or_none(id=appointment_id)
    if visit is None or visit.status not in ACTIVE_APPOINTMENT_STATUSES:
        # settled another way meanwhile (staff moved or cancelled it, a racing booking
        # gave its slot up): nothing to call about
        await resolve(appointment_id, ReshuffleOutcome.CANCELLED, now)
        return 0
    won = await Reshuffle.filter(
        appointment_id=appointment_id, outcome=ReshuffleOutcome.WAITING
    ).update(outcome=ReshuffleOutcome.FLAGGED)
    if not won:
        return 0
    text = texts("reshuffle.flagged_alert", line=await visit_line(config, texts, visit))
    chats = await recipients(config, owner_ids, visit.lead_id or 0)
    await to_staff(
        chats,
        kind="reshuffle",
        message=Message(text),
        key=str(appointment_id),
        now=now,
        lead_id=visit.lead_id,
    )
    return 1


async def flagged_visits() -> list[Appointment]:
    """Displaced visits still held and unanswered: the managers' call list."""
    ids = await Reshuffle.filter(outcome=ReshuffleOutcome.FLAGGED).values_list(
        "appointment_id", flat=True
    )
    return (
        await Appointment.filter(id__in=list(ids), status__in=ACTIVE_APPOINTMENT_STATUSES)
        .order_by("start")
        .all()
    )


async def visit_line(config: BusinessConfig, t: Texts, visit: Appointment) -> str:
    """«#12 пн 30.11 14:00, Стрижка, Анна — Ксения +7…» (staff only)."""
    client = await Client.get_or_none(id=visit.client_id) if visit.client_id else None
    if client is None and visit.lead_id:  # a phone-only client: the lead carries the person
        client = await Client.filter(leads__id=visit.lead_id).first()
    service, master = config.service(visit.service_id), config.master(visit.master_id)
    return t(
        "reshuffle.line",
        id=visit.id,
        when=t.moment(visit.start.astimezone(config.tz)),
        service=service.title if service else visit.service_id,
        master=master.name if master else visit.master_id,
        client=(client.name or "") if client else "—",
        phone=(client.phone or "") if client else "",
    )
