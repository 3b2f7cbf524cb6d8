"""What a client step's effects do to the database: consent, leads, bookings and moves
(with a deposit's hold), cancellations, hand-offs, erasure, the waitlist, relays to staff.

They run inside the step's transaction (bot.dialogs); an effect may answer the scenario
with an event (`Input.event`), which the dialogue feeds back to it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from tortoise.transactions import in_transaction

from bot import erasure, raw_sql
from bot.booking import reshuffle, waitlist, waitlist_take
from bot.booking.booker import Booker, price_kop
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
    LeadStatus,
)
from bot.payments.holds import Checkout, open_hold, quote_for
from bot.payments.settle import deposit_on_cancel
from bot.schedule_models import ReshuffleOutcome
from bot.staffwork.alerts import Known, alert_staff, notify_staff, recipients
from bot.staffwork.leads import flag_for_human, lead_of, mark_waiting, move_lead, open_lead
from scenarios.types import (
    Book,
    CancelBooking,
    ConfirmVisit,
    Effect,
    Forget,
    HandOff,
    Input,
    InputKind,
    JoinWaitlist,
    OpenLead,
    QuitWaitlist,
    RecordConsent,
    SaveContact,
    TakeWaitlistOffer,
)

log = logging.getLogger("priyom.dialog")
UNTOUCHED_LEAD = (  # a new lead with no visit, one prepared SELECT
    f'SELECT * FROM "lead" WHERE "id" = ? AND "status" = \'{LeadStatus.NEW.value}\' '
    'AND NOT EXISTS (SELECT 1 FROM "appointment" WHERE "lead_id" = "lead"."id")'
)
SAVE_CONTACT = 'UPDATE "client" SET "name" = ?, "phone" = ? WHERE "id" = ?'
RECORD_CONSENT = (
    'INSERT INTO "client" ("channel", "channel_user_id", "consent_at", '
    '"consent_policy_version", "created_at") VALUES (?, ?, ?, ?, ?) '
    'ON CONFLICT ("channel", "channel_user_id") DO UPDATE SET "consent_at" = '
    'excluded."consent_at", "consent_policy_version" = excluded."consent_policy_version" '
    'RETURNING "id"'
)


class _SlotGone(Exception):
    """A waitlist offer's time was taken meanwhile: its savepoint rolls back."""


class DialogEffects:
    """The effects of client steps. `config` follows the owner's catalog edits (the
    dialogue updates it when they change); `forget_cached` drops a conversation the
    dialogue keeps in memory (after an erasure)."""

    def __init__(
        self,
        config: BusinessConfig,
        texts: Texts,
        owner_ids: frozenset[int],
        booker: Booker,
        checkout: Checkout,
        forget_cached: Callable[[tuple[str, str]], object],
    ) -> None:
        self.config, self.texts, self.owner_ids = config, texts, owner_ids
        self.booker, self.checkout, self.forget_cached = booker, checkout, forget_cached

    async def apply(
        self,
        conv: Conversation,
        effect: Effect,
        now: dt.datetime,
        booked: dict[int, Appointment] | None = None,
    ) -> Input | None:
        """Do one effect; the event it answers the scenario with, if any. `booked` gets the
        visits it books, so the step need not read them back."""
        match effect:
            case RecordConsent(policy_version=version):
                # a new client is created with its consent, a known one gets it: one statement
                values = (conv.channel, conv.chat_id, now, version, now)
                ((conv.client_id,),) = await raw_sql.fetch(RECORD_CONSENT, values)
                log.info("consent", extra={"client": conv.client_id, "policy": version})
            case OpenLead(source=source, campaign=campaign):
                lead = await self._untouched_lead(conv) or await open_lead(
                    channel=conv.channel,
                    client_id=conv.client_id,
                    source=source,
                    campaign=campaign,
                    now=now,
                )
                conv.lead_id = lead.id
                log.info(
                    "lead_opened", extra={"lead": lead.id, "source": source, "campaign": campaign}
                )
            case SaveContact(name=name, phone=phone):
                if conv.client_id is not None:  # every confirm repeats it: no queryset
                    await raw_sql.execute(SAVE_CONTACT, (name, phone, conv.client_id))
            case Book():
                return await self._book(conv, effect, now, booked)
            case ConfirmVisit(appointment_id=appointment_id):
                return await self._confirm_visit(conv, appointment_id, now)
            case CancelBooking(appointment_id=appointment_id):
                return await self._cancel(conv, appointment_id, now)
            case HandOff(reason=reason):
                lead = await lead_of(conv.lead_id)
                heard = False
                if lead is not None:
                    await flag_for_human(lead, reason, now)
                    await self._alert(lead, reason, f"handoff:{lead.id}:{reason}", now)
                    heard = bool(await recipients(self.config, self.owner_ids, lead.id))
                log.info("handoff", extra={"lead": conv.lead_id, "reason": reason, "heard": heard})
                return Input.event("handed_off" if heard else "handoff_unheard", reason)
            case Forget():
                await self._forget(conv, now)
                return Input.event("forgotten")
            case JoinWaitlist():
                return await self._join_waitlist(conv, effect, now)
            case TakeWaitlistOffer(offer_id=offer_id):
                return await self._take_waitlist_offer(conv, offer_id, now, booked)
            case QuitWaitlist(entry_id=entry_id):
                left = await waitlist.leave(self.booker, conv.client_id, entry_id, now)
                return Input.event("waitlist_left" if left else "waitlist_unknown")
        return None

    async def _join_waitlist(self, conv: Conversation, effect: JoinWaitlist, now: dt.datetime):
        window = waitlist.Window(
            effect.day_from, effect.day_to, _minute(effect.after), _minute(effect.before)
        )
        entry = None
        if conv.client_id is not None:
            entry = await waitlist.join(
                self.config, conv.client_id, conv.lead_id, effect.service_id,
                effect.addon_ids, effect.master_id, window, now,
            )  # fmt: skip
        if entry is None:
            return Input.event("waitlist_refused")
        log.info("waitlisted", extra={"lead": conv.lead_id, "entry": entry.id})
        return Input.event("waitlisted", str(entry.id))

    async def _take_waitlist_offer(
        self,
        conv: Conversation,
        offer_id: int,
        now: dt.datetime,
        booked: dict[int, Appointment] | None = None,
    ) -> Input:
        """Re-validate the offer, then book it by the dialogue's own race-proof path; a lost
        race leaves nothing behind (the lead it would have gone on is rolled back)."""
        claimed = await waitlist_take.claim(conv.client_id, offer_id, now)
        if isinstance(claimed, str):
            return Input.event(claimed)
        entry, offer, lead_before = claimed.entry, claimed.offer, conv.lead_id
        book = Book(
            entry.service_id, tuple(entry.addon_ids), offer.master_id, offer.start, offer.end
        )
        try:
            async with in_transaction():  # a savepoint
                lead = await waitlist_take.lead_for(claimed, conv.channel, conv.lead_id, now)
                conv.lead_id = lead.id
                result = await self._book(conv, book, now, booked)
                if result.text != "booked":
                    raise _SlotGone
        except _SlotGone:
            conv.lead_id = lead_before
            await waitlist_take.missed(claimed)
            return Input.event("offer_gone")
        await waitlist_take.settle(claimed, int(result.arg), now)
        return result

    async def _untouched_lead(self, conv: Conversation) -> Lead | None:
        """A /start mid-flow goes on with the lead it had, so leads are not counted twice."""
        if conv.lead_id is None:
            return None
        return await raw_sql.first(Lead, UNTOUCHED_LEAD, (conv.lead_id,))

    async def bookable(self, effect: Book) -> bool:
        """Whether the step's snapshot offers the slot. A taken (or forged) slot is told
        before any read: most confirms under load lose their race this way and must stay
        cheap. The unique cells still decide a booking that passes."""
        service = self.config.service(effect.service_id)
        if service is None or effect.master_id not in service.masters:
            return False
        slot = Slot(effect.start, effect.end, effect.master_id)
        return await self.booker.offerable(slot, service, effect.addon_ids)

    @staticmethod
    def slot_taken(conv: Conversation, effect: Book) -> Input:
        """What the scenario hears when the slot went to someone else (logged)."""
        start = effect.start.isoformat()
        log.info(
            "slot_taken", extra={"lead": conv.lead_id, "master": effect.master_id, "start": start}
        )
        return Input.event("slot_taken")

    async def _book(
        self,
        conv: Conversation,
        effect: Book,
        now: dt.datetime,
        booked: dict[int, Appointment] | None = None,
    ) -> Input:
        service = self.config.service(effect.service_id)
        old = None
        if effect.replaces is not None:
            old = await self._own_active(conv, effect.replaces)
            if old is None:
                return Input.event("cancel_failed", str(effect.replaces))
        slot = Slot(effect.start, effect.end, effect.master_id)
        appointment = found = None
        provider = self.checkout.provider(conv.channel) if old is None else None
        if service is not None and await self.bookable(effect):
            price = price_kop(service, effect.addon_ids)
            if provider is not None:
                found = await quote_for(self.config, service.id, price, slot.start, conv.client_id)
            deposit = found.amount_kop if found else None
            owners = (old.lead_id if old else conv.lead_id, conv.client_id)
            appointment = await self.booker.book(
                slot, service, effect.addon_ids, None, None, deposit, checked=True, owners=owners
            )
        if appointment is None:
            return self.slot_taken(conv, effect)
        # Read once the visit is written: a lost race (most that pass the snapshot) reads nothing.
        ids = ((Lead, appointment.lead_id), (Client, appointment.client_id))
        lead, client = await raw_sql.by_ids(*ids)
        if booked is not None:
            booked[appointment.id] = appointment  # as `_moved` may still change it
        if old is None and client is not None:  # waits no more for what it has now
            await waitlist.booked_elsewhere(self.booker, client.id, service.id, slot.start, now)
        if found is not None and provider is not None:
            await open_hold(
                appointment,
                found,
                provider,
                conv.channel,
                conv.chat_id,
                self.texts,
                self.config,
                now,
            )
            if lead is not None:
                await move_lead(lead, LeadStatus.QUALIFIED, actor="bot", now=now)
            return Input.event("held", str(appointment.id))
        if old is not None:
            await self._moved(old, appointment, lead, now)
        elif lead is not None:
            instant = self.config.booking.mode == "instant"
            target = LeadStatus.CONFIRMED if instant else LeadStatus.QUALIFIED
            waiting = [] if instant else mark_waiting(lead, now)  # saved with the move
            await move_lead(lead, target, actor="bot", now=now, also=waiting)
            if not instant:
                # the booking's own transaction has the client and the (newest) visit
                known = (client, appointment)
                await self._alert(lead, "prebooking", f"appt:{appointment.id}", now, known)
        log.info(
            "booked",
            extra={
                "lead": conv.lead_id,
                "appointment": appointment.id,
                "master": effect.master_id,
                "start": effect.start.isoformat(),
                "status": appointment.status.value,
            },
        )
        return Input.event("booked", str(appointment.id))

    async def _own_active(self, conv: Conversation, appointment_id: int) -> Appointment | None:
        """The client's own active appointment, or None (someone else's ids are refused)."""
        if conv.client_id is None:
            return None
        return await Appointment.get_or_none(
            id=appointment_id, client_id=conv.client_id, status__in=ACTIVE_APPOINTMENT_STATUSES
        )

    async def _moved(
        self, old: Appointment, new: Appointment, lead: Lead | None, now: dt.datetime
    ) -> None:
        """The client moved a visit: the new one keeps its standing, the old frees its time."""
        if old.status == AppointmentStatus.CONFIRMED and new.status != old.status:
            new.status = old.status
            await new.save(update_fields=["status"])
        await self.booker.cancel(old)
        await reshuffle.resolve(old.id, ReshuffleOutcome.MOVED, now, new.id)
        if lead is not None:
            text = self.texts(
                "staff.client_moved_notice",
                id=lead.id,
                when=self.texts.moment(new.start.astimezone(self.config.tz)),
            )
            await notify_staff(lead, text, self.config, self.owner_ids, now, f"moved:{new.id}")

    async def _confirm_visit(
        self, conv: Conversation, appointment_id: int, now: dt.datetime
    ) -> Input:
        appointment = await self._own_active(conv, appointment_id)
        if appointment is None:
            return Input.event("cancel_failed", str(appointment_id))
        if appointment.client_confirmed_at is None:
            appointment.client_confirmed_at = now
            await appointment.save(update_fields=["client_confirmed_at"])
        log.info(
            "visit_confirmed", extra={"lead": appointment.lead_id, "appointment": appointment.id}
        )
        return Input.event("visit_confirmed", str(appointment_id))

    async def _cancel(self, conv: Conversation, appointment_id: int, now: dt.datetime) -> Input:
        appointment = await self._own_active(conv, appointment_id)
        if appointment is None:
            return Input.event("cancel_failed", str(appointment_id))
        await self._cancel_for_client(appointment, now, "client_cancelled")
        return Input.event("cancelled", str(appointment_id))

    async def _cancel_for_client(
        self, appointment: Appointment, now: dt.datetime, note: str
    ) -> None:
        """Free the slot; the lead is lost unless it already ended; a paid deposit is
        refunded or kept as the policy says (bot.payments.settle)."""
        await self.booker.cancel(appointment)
        await deposit_on_cancel(appointment, self.texts, now)
        await reshuffle.resolve(appointment.id, ReshuffleOutcome.CANCELLED, now)
        lead = await lead_of(appointment.lead_id)
        if lead is not None and lead.status in OPEN_LEAD_STATUSES:
            await move_lead(lead, LeadStatus.LOST, actor="client", now=now, note=note)
        if lead is not None:
            when = self.texts.moment(appointment.start.astimezone(self.config.tz))
            text = self.texts("staff.client_cancelled_notice", id=lead.id, when=when)
            await notify_staff(
                lead, text, self.config, self.owner_ids, now, f"cancelled:{appointment.id}"
            )
        log.info(
            "cancelled",
            extra={"lead": appointment.lead_id, "appointment": appointment.id, "note": note},
        )

    async def _forget(self, conv: Conversation, now: dt.datetime) -> None:
        """Erase personal data on request (bot.erasure); visits still ahead are cancelled
        as any cancellation is, so staff hear of the freed time. The conversation lives on
        under its pseudonym, out of the cache: the next message starts a fresh one."""
        client_id, key = conv.client_id, (conv.channel, conv.chat_id)
        conv.chat_id = await erasure.erase_chat(
            conv.channel, conv.chat_id, client_id, conv.lead_id, now
        )
        for appointment in await erasure.upcoming(client_id, now):
            await self._cancel_for_client(appointment, now, "client_forgotten")
        await waitlist.leave_all(self.booker, client_id, now)
        conv.client_id = conv.lead_id = None
        self.forget_cached(key)
        log.info("forgotten", extra={"client": client_id})

    async def _alert(
        self, lead: Lead, reason: str, key: str, now: dt.datetime, known: Known | None = None
    ) -> None:
        queued = await alert_staff(
            lead, reason, self.config, self.texts, self.owner_ids, now, key, known
        )
        log.info("alert_queued", extra={"lead": lead.id, "reason": reason, "recipients": queued})

    async def relay_to_staff(self, conv: Conversation, inp: Input, now: dt.datetime) -> None:
        """During a hand-off the client's messages go to the manager, marked with the lead."""
        client = await Client.get_or_none(id=conv.client_id) if conv.client_id else None
        name = (client and client.name) or inp.name or "—"
        if inp.file_id:
            text = self.texts("staff.relay_photo_from_client", id=conv.lead_id, name=name)
            text += f"\n{inp.arg}" if inp.arg else ""
        else:
            body = inp.phone if inp.kind is InputKind.CONTACT else inp.text
            text = self.texts("staff.relay_from_client", id=conv.lead_id, name=name, text=body)
        # The file is read back through the channel it came in on (bot/delivery/channel.py).
        photo = f"{conv.channel}/{inp.file_id}" if inp.file_id else None
        await enqueue(
            bot="staff",
            chat_id=str(conv.relay_staff_id),
            kind="relay",
            message=Message(text, photo=photo),
            dedup_key=f"relay:{conv.id}:{conv.version}",
            now=now,
            lead_id=conv.lead_id,
        )


def _minute(time: dt.time | None) -> int | None:
    return None if time is None else time.hour * 60 + time.minute
