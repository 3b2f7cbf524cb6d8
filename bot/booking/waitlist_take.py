"""Taking a waitlist offer (bot/booking/waitlist.py): the tap re-validated against the
offer row, the lead the booking goes on, and what booking it — or losing it — ends."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from bot.models import Appointment, Lead, LeadStatus
from bot.staffwork.leads import open_lead
from bot.waitlist_models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer

log = logging.getLogger("priyom.waitlist")
WAITLIST_SOURCE = "waitlist"  # a lead opened when an offer is taken with no lead to go on


@dataclass(frozen=True)
class Claimed:
    offer: WaitlistOffer
    entry: WaitlistEntry


async def claim(client_id: int | None, offer_id: int, now: dt.datetime) -> Claimed | str:
    """Re-validate a tapped offer: the client's own ("offer_unknown" otherwise), still live
    ("offer_gone" otherwise). Marks it taken with a conditional UPDATE, so a double tap
    books once; the caller books next, in the same transaction."""
    offer = await WaitlistOffer.get_or_none(id=offer_id)
    entry = await WaitlistEntry.get_or_none(id=offer.entry_id) if offer else None
    if offer is None or entry is None or client_id is None or entry.client_id != client_id:
        return "offer_unknown"
    if entry.status != EntryStatus.WAITING or offer.expires_at <= now:
        return "offer_gone"
    won = await WaitlistOffer.filter(id=offer_id, status=OfferStatus.OFFERED).update(
        status=OfferStatus.TAKEN, taken_at=now
    )
    return Claimed(offer, entry) if won else "offer_gone"


async def lead_for(claimed: Claimed, channel: str, conv_lead_id: int | None, now: dt.datetime):
    """The lead the booking goes on: the one the client joined with (or the chat's), while
    it is new and unbooked; else a fresh lead from the waitlist."""
    for lead_id in (claimed.entry.lead_id, conv_lead_id):
        lead = await Lead.get_or_none(id=lead_id, status=LeadStatus.NEW) if lead_id else None
        if lead is not None and not await Appointment.filter(lead_id=lead.id).exists():
            return lead
    return await open_lead(
        channel=channel,
        client_id=claimed.entry.client_id,
        source=WAITLIST_SOURCE,
        campaign=None,
        now=now,
    )


async def settle(claimed: Claimed, appointment_id: int, now: dt.datetime) -> None:
    """Booked: the entry is done and its other offers withdrawn. Rival offers of the slot
    are left alone: touching rows a racing taker holds would deadlock on PostgreSQL; a tap
    on one finds the slot booked (`missed`), an untapped one just expires."""
    offer = claimed.offer
    await WaitlistOffer.filter(id=offer.id).update(appointment_id=appointment_id)
    await WaitlistEntry.filter(id=claimed.entry.id).update(status=EntryStatus.BOOKED, ended_at=now)
    await WaitlistOffer.filter(entry_id=claimed.entry.id, status=OfferStatus.OFFERED).update(
        status=OfferStatus.WITHDRAWN
    )
    log.info("waitlist_booked", extra={"offer": offer.id, "appointment": appointment_id})


async def missed(claimed: Claimed) -> None:
    """The slot was gone when the client tapped: the offer is lost, the place kept."""
    await WaitlistOffer.filter(id=claimed.offer.id).update(status=OfferStatus.LOST)
