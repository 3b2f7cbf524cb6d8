"""Tables of the waitlist and of the confirmation calls (migration 9): places on the list,
the offers of freed slots made to them, and visits managers must call about."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class EntryStatus(StrEnum):
    WAITING = "waiting"
    BOOKED = "booked"  # took an offer
    LEFT = "left"  # the client left the list
    EXPIRED = "expired"  # `waitlist.entry_days` passed


class OfferStatus(StrEnum):
    OFFERED = "offered"  # live until `expires_at`
    TAKEN = "taken"  # booked: `appointment_id`
    LOST = "lost"  # someone else got the slot first
    EXPIRED = "expired"  # not taken in time: the next in line was offered
    WITHDRAWN = "withdrawn"  # the client left the list or booked another offer


class WaitlistEntry(Model):
    """A client's wish nothing fit: the service (with add-ons), a master or any, and a window
    of local days and start times."""

    id = fields.IntField(primary_key=True)
    client_id = fields.IntField()
    lead_id = fields.IntField(null=True)
    service_id = fields.CharField(max_length=16)
    addon_ids = fields.JSONField(default=list)
    master_id = fields.CharField(max_length=16, null=True)  # None: any master of the service
    day_from = fields.DateField()
    day_to = fields.DateField()
    # local start times wanted (the part of the day), in minutes after midnight
    after_minute = fields.IntField(null=True)
    before_minute = fields.IntField(null=True)
    status = fields.CharEnumField(EntryStatus, max_length=16, default=EntryStatus.WAITING)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "waitlist_entry"
        indexes = (Index(fields=("status", "expires_at"), name="idx_waitlist_entry_status"),)


class WaitlistOffer(Model):
    """A freed slot offered to one entry; one offer per entry and slot (unique), so a slot
    passed along the line never comes back to the same client."""

    id = fields.IntField(primary_key=True)
    entry_id = fields.IntField()
    master_id = fields.CharField(max_length=16)
    start = fields.DatetimeField()
    end = fields.DatetimeField()
    status = fields.CharEnumField(OfferStatus, max_length=16, default=OfferStatus.OFFERED)
    offered_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    taken_at = fields.DatetimeField(null=True)
    appointment_id = fields.IntField(null=True)

    class Meta:
        table = "waitlist_offer"
        unique_together = (("entry_id", "master_id", "start"),)
        indexes = (
            Index(fields=("status", "expires_at"), name="idx_waitlist_offer_status"),
            Index(fields=("master_id", "start"), name="idx_waitlist_offer_slot"),
        )


class ConfirmCall(Model):
    """A visit the client had not confirmed by its last reminder: a «позвонить клиенту» task
    (one per visit), on the SLA clock from `at` until a manager records the call."""

    appointment_id = fields.IntField(primary_key=True)
    lead_id = fields.IntField()
    at = fields.DatetimeField()

    class Meta:
        table = "confirm_call"
