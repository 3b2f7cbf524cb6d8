"""What staff do to a lead: claim, confirm, move, cancel, mark the outcome or loss.

Each action is decided by the database (a conditional UPDATE), so two managers
pressing at once — in one process or several — get one winner; the client is told
through the outbox in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from bot.booking.booker import Booker
from bot.booking.slots import Slot
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    OPEN_LEAD_STATUSES,
    Appointment,
    AppointmentStatus,
    Client,
    Conversation,
    Lead,
    LeadEvent,
    LeadStatus,
)
from bot.payments.settle import keep_on_no_show, owe_back
from bot.staffwork.access import BadAmount, check_appointment, check_lead_id, check_outcome
from bot.staffwork.leads import lead_of, move_lead
from bot.staffwork.outcomes import MAX_PAID_KOP, valid_paid
from bot.staffwork.receipt import write_transaction
from bot.staffwork.staff import owners_of


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    manager_id: int | None  # who holds the lead now


def actor(staff_id: int) -> str:
    return f"staff:{staff_id}"


async def record_call(lead: Lead, outcome: str, staff_id: int, now: dt.datetime) -> None:
    """How a call back ended: the lead taken, a "called" event (it stops the call-back SLA),
    «отказ» closing the lead as lost. One transaction with the press's receipt: a press
    delivered again records no second call."""
    async with write_transaction():
        await claim(lead.id, staff_id, now)
        await LeadEvent.create(
            lead=lead, at=now, actor=actor(staff_id), kind="called", note=outcome,
            from_status=lead.status, to_status=lead.status,
        )  # fmt: skip
        if outcome == "refused" and lead.status != LeadStatus.LOST:
            await move_lead(lead, LeadStatus.LOST, actor=actor(staff_id), now=now, note=outcome)


async def claim(lead_id: int, staff_id: int, now: dt.datetime) -> ClaimResult:
    async with in_transaction():
        won = await Lead.filter(id=lead_id, manager_id__isnull=True).update(
            manager_id=staff_id, updated_at=now
        )
        lead = await Lead.get_or_none(id=lead_id)
        if lead is None:
            return ClaimResult(False, None)
        if won:
            await LeadEvent.create(
                lead=lead,
                at=now,
                actor=actor(staff_id),
                kind="claim",
                from_status=lead.status,
                to_status=lead.status,
            )
    return ClaimResult(bool(won), lead.manager_id)


async def client_chat(lead: Lead) -> tuple[str, str] | None:
    """(channel, chat id) of the lead's client, if we may still write to them."""
    if lead.client_id is None:
        return None
    client = await Client.get_or_none(id=lead.client_id, erased_at__isnull=True)
    if client is None:
        return None
    return client.channel, client.channel_user_id


async def notify_client(lead: Lead, kind: str, text: str, now: dt.datetime, key: str) -> None:
    chat = await client_chat(lead)
    if chat is not None:
        await enqueue(
            bot="client",
            channel=chat[0],
            chat_id=chat[1],
            kind=kind,
            message=Message(text),
            dedup_key=f"{kind}:{key}",
            now=now,
            lead_id=lead.id,
        )


class LeadActions:
    """Every action re-checks the actor's role and the lead's holder (bot.staffwork.access) and
    raises its `Refused` before changing anything."""

    def __init__(
        self,
        config: BusinessConfig,
        texts: Texts,
        booker: Booker,
        owner_ids: frozenset[int] = frozenset(),
    ) -> None:
        self.config = config
        self.t = texts
        self.booker = booker
        self.owner_ids = owners_of(config, owner_ids)

    def _describe(self, a: Appointment) -> dict[str, str]:
        service = self.config.service(a.service_id)
        master = self.config.master(a.master_id)
        return {
            "service": service.title if service else a.service_id,
            "master": master.name if master else a.master_id,
            "when": self.t.moment(a.start.astimezone(self.config.tz)),
            "address": self.config.business.address,
        }

    async def _tell(
        self, lead: Lead, kind: str, key: str, appointment: Appointment, now: dt.datetime
    ) -> None:
        text = self.t(key, **self._describe(appointment))
        await notify_client(lead, kind, text, now, str(appointment.id))

    async def confirm(self, appointment_id: int, staff_id: int, now: dt.datetime) -> Lead | None:
        """A pre-booking becomes a booking; None when it is no longer pending."""
        await check_appointment(appointment_id, staff_id, self.owner_ids)
        async with in_transaction():
            done = await Appointment.filter(
                id=appointment_id, status=AppointmentStatus.PENDING
            ).update(status=AppointmentStatus.CONFIRMED)
            if not done:
                return None
            appointment = await Appointment.get(id=appointment_id)
            lead = await lead_of(appointment.lead_id)
            if lead is not None:
                if lead.status in (LeadStatus.NEW, LeadStatus.QUALIFIED):
                    await move_lead(lead, LeadStatus.CONFIRMED, actor=actor(staff_id), now=now)
                await self._tell(lead, "confirmed", "staff.client_confirmed", appointment, now)
        return lead

    async def cancel(
        self, appointment_id: int, reason: str, staff_id: int, now: dt.datetime
    ) -> Appointment | None:
        await check_appointment(appointment_id, staff_id, self.owner_ids)
        async with in_transaction():
            appointment = await Appointment.get_or_none(
                id=appointment_id, status__in=ACTIVE_APPOINTMENT_STATUSES
            )
            if appointment is None:
                return None
            await self.booker.cancel(appointment)
            lead = await lead_of(appointment.lead_id)
            if lead is not None:
                if lead.status in OPEN_LEAD_STATUSES:
                    await move_lead(
                        lead,
                        LeadStatus.LOST,
                        actor=actor(staff_id),
                        now=now,
                        note=f"cancelled:{reason}",
                    )
                await self._tell(lead, "cancelled", "staff.client_cancelled", appointment, now)
        return appointment

    async def move(
        self, appointment_id: int, slot: Slot, staff_id: int, now: dt.datetime
    ) -> Appointment | None:
        """Book the new slot first, then free the old one: the client never has neither."""
        await check_appointment(appointment_id, staff_id, self.owner_ids)
        async with in_transaction():
            old = await Appointment.get_or_none(
                id=appointment_id, status__in=ACTIVE_APPOINTMENT_STATUSES
            )
            service = self.config.service(old.service_id) if old else None
            if old is None or service is None:
                return None
            await self.booker.cancel(old)
            lead = await lead_of(old.lead_id)
            client = await Client.get_or_none(id=old.client_id) if old.client_id else None
            new = await self.booker.book(slot, service, old.addon_ids, client, lead)
            if new is None:
                raise SlotGone
            if old.status == AppointmentStatus.CONFIRMED:
                new.status = AppointmentStatus.CONFIRMED
                await new.save(update_fields=["status"])
            if lead is not None:
                await self._tell(lead, "moved", "staff.client_moved", new, now)
        return new

    async def record_visit(
        self, appointment_id: int, came: bool, paid_kop: int | None, staff_id: int, now: dt.datetime
    ) -> Appointment | None:
        """«Пришёл» with the amount paid, or «Неявка»; once per appointment, after it started.

        The amount is the appointment's price or typed by staff, never a button's payload:
        it must be positive and sane (or exactly the price from the database).
        """
        status = AppointmentStatus.CAME if came else AppointmentStatus.NO_SHOW
        appointment = await Appointment.get_or_none(id=appointment_id)
        if appointment is None:
            return None
        await check_outcome(appointment, staff_id, self.owner_ids, now)
        if came and not (paid_kop == appointment.price_kop or valid_paid(paid_kop)):
            raise BadAmount(max_kop=MAX_PAID_KOP)
        async with in_transaction():
            done = await Appointment.filter(
                id=appointment_id, status__in=ACTIVE_APPOINTMENT_STATUSES
            ).update(status=status, paid_kop=paid_kop if came else None)
            if not done:
                return None
            appointment = await Appointment.get(id=appointment_id)
            if not came:  # a no-show keeps a paid deposit, as the policy shown said
                await keep_on_no_show(appointment_id, now)
            lead = await lead_of(appointment.lead_id)
            if lead is not None:
                if lead.status in (LeadStatus.NEW, LeadStatus.QUALIFIED):
                    await move_lead(lead, LeadStatus.CONFIRMED, actor=actor(staff_id), now=now)
                target = LeadStatus.CAME if came else LeadStatus.NO_SHOW
                await move_lead(lead, target, actor=actor(staff_id), now=now)
        return appointment

    async def mark_lost(
        self, lead_id: int, reason: str, staff_id: int, now: dt.datetime
    ) -> Lead | None:
        await check_lead_id(lead_id, staff_id, self.owner_ids)
        async with in_transaction():
            lead = await Lead.get_or_none(id=lead_id, status__in=OPEN_LEAD_STATUSES)
            if lead is None:
                return None
            for appointment in await Appointment.filter(
                lead_id=lead_id, status__in=ACTIVE_APPOINTMENT_STATUSES
            ):
                await self.booker.cancel(appointment)
                await owe_back(appointment.id, self.t, now)  # the business cancelled
                await self._tell(lead, "cancelled", "staff.client_cancelled", appointment, now)
            await move_lead(
                lead, LeadStatus.LOST, actor=actor(staff_id), now=now, note=reason[:200]
            )
        return lead


class SlotGone(Exception):
    """The new slot of a move was taken meanwhile; the transaction rolls back."""


async def open_relay(lead: Lead, staff_id: int) -> bool:
    """Route the client's next messages to this staff member."""
    chat = await client_chat(lead)
    if chat is None:
        return False
    await Conversation.filter(
        Q(relay_staff_id__isnull=True) | Q(relay_staff_id__not=staff_id),
        channel=chat[0],
        chat_id=chat[1],
    ).update(relay_staff_id=staff_id, version=F("version") + 1)
    return True


async def close_relay(staff_id: int) -> list[Conversation]:
    conversations = await Conversation.filter(relay_staff_id=staff_id)
    await Conversation.filter(relay_staff_id=staff_id).update(
        relay_staff_id=None, version=F("version") + 1
    )
    return conversations


async def relayed_lead(staff_id: int) -> Lead | None:
    """The lead whose client this staff member is talking to (the latest, if several)."""
    conv = await Conversation.filter(relay_staff_id=staff_id).order_by("-updated_at").first()
    if conv is None or conv.client_id is None:
        return None
    return await Lead.filter(client_id=conv.client_id).order_by("-id").first()
