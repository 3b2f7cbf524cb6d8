"""Staff book a client who phoned or walked in: the same slot engine and the same DB-guaranteed
no-overlap as a client's own booking (`Booker.book`), so the two racing never both win.

A phone that belongs to a client known on a messenger attaches the booking to them: the
confirmation goes there through the outbox, and reminders follow as for any visit. Otherwise
the client is phone-only (channel `phone`), on the legal basis "contract, entered by staff"
rather than chat consent; such a visit has no chat to remind in, so its `client` stays empty
and the lead carries the person. The lead's source is `phone` or `walk_in`; it is a lead like
any other (events, KPIs).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from tortoise.transactions import in_transaction

from bot.booking.booker import Booker
from bot.booking.slots import Slot
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus, Client, Lead, LeadStatus, StaffRole
from bot.staffwork.intake import PHONE_CHANNEL
from bot.staffwork.leads import move_lead, open_lead

log = logging.getLogger("priyom.staff_booking")
STAFF_CONTRACT = "contract:staff"  # the legal basis recorded for a phone-only client


class StaffSource(StrEnum):
    PHONE = "phone"
    WALK_IN = "walk_in"


@dataclass(frozen=True)
class Booked:
    appointment: Appointment
    lead: Lead
    known: Client | None  # the messenger client the booking went to, if any


async def known_client(phone: str) -> Client | None:
    """The newest client on a messenger with this phone (E.164), if any."""
    return (
        await Client.filter(phone=phone, erased_at__isnull=True)
        .exclude(channel=PHONE_CHANNEL)
        .order_by("-id")
        .first()
    )


async def book_for_client(
    booker: Booker,
    texts: Texts,
    slot: Slot,
    service_id: str,
    phone: str,
    name: str,
    source: StaffSource,
    staff_id: int,
    role: StaffRole,
) -> Booked | None:
    """Book the slot for the person; None when the slot is no longer free (a racer won)."""
    config, now = booker.config, booker.clock.now()
    service = config.service(service_id)
    if service is None:
        return None
    appointment = await booker.book(slot, service, [], None, None)
    if appointment is None:
        return None
    known = await known_client(phone)
    actor = f"staff:{staff_id}"
    async with in_transaction():
        person = known or await _phone_client(phone, name, now)
        lead = await open_lead(
            channel=person.channel,
            client_id=person.id,
            source=source.value,
            campaign=None,
            now=now,
            actor=actor,
        )
        if role is StaffRole.MANAGER:
            lead.manager_id = staff_id
            await lead.save(update_fields=["manager_id"])
        await move_lead(lead, LeadStatus.CONFIRMED, actor=actor, now=now)
        appointment.lead_id, appointment.client_id = lead.id, known.id if known else None
        appointment.status = AppointmentStatus.CONFIRMED
        await appointment.save(update_fields=["lead_id", "client_id", "status"])
        if known is not None:
            await _confirm_to(known, appointment, booker, texts, now)
    log.info(
        "staff_booked",
        extra={"lead": lead.id, "appointment": appointment.id, "source": source.value},
    )
    return Booked(appointment, lead, known)


async def _phone_client(phone: str, name: str, now: dt.datetime) -> Client:
    client, created = await Client.get_or_create(
        channel=PHONE_CHANNEL,
        channel_user_id=phone,
        defaults={
            "name": name,
            "phone": phone,
            "consent_at": now,
            "consent_policy_version": STAFF_CONTRACT,
            "created_at": now,
        },
    )
    if not created and client.name != name:
        client.name = name
        await client.save(update_fields=["name"])
    return client


async def _confirm_to(
    client: Client, appointment: Appointment, booker: Booker, t: Texts, now: dt.datetime
) -> None:
    config = booker.config
    service, master = config.service(appointment.service_id), config.master(appointment.master_id)
    text = t(
        "staffbook.confirmed_client",
        service=service.title if service else appointment.service_id,
        when=t.moment(appointment.start.astimezone(config.tz)),
        master=master.name if master else appointment.master_id,
        address=config.business.address,
    )
    await enqueue(
        bot="client",
        channel=client.channel,
        chat_id=client.channel_user_id,
        kind="confirmation",
        message=Message(text),
        dedup_key=f"staffbook:{appointment.id}",
        now=now,
        lead_id=appointment.lead_id,
        appointment_id=appointment.id,
        valid_start=appointment.start,
    )
