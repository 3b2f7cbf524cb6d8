"""Tables of the staff-edited calendar: overrides on top of the TOML schedule, their audit
trail, and the visits a change displaced (migration 6)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class OverrideKind(StrEnum):
    DAY_OFF = "day_off"
    SICK = "sick"
    VACATION = "vacation"
    BLOCK = "block"
    EXTRA_SHIFT = "extra_shift"  # the only kind that adds working time


class ScheduleOverride(Model):
    """A change of one master's time; undone rows stay (undone_at) for the audit."""

    id = fields.IntField(primary_key=True)
    master_id = fields.CharField(max_length=16)
    kind = fields.CharEnumField(OverrideKind, max_length=16)
    start = fields.DatetimeField()
    end = fields.DatetimeField()
    reason = fields.CharField(max_length=200, null=True)
    created_by = fields.BigIntField()  # the staff member's Telegram id
    created_at = fields.DatetimeField()
    undone_at = fields.DatetimeField(null=True)
    undone_by = fields.BigIntField(null=True)

    class Meta:
        table = "schedule_override"
        indexes = (Index(fields=("end", "start"), name="idx_schedule_override_end"),)


class ScheduleAudit(Model):
    """Who changed the calendar, when, and what it was before and after."""

    id = fields.IntField(primary_key=True)
    override_id = fields.IntField()
    action = fields.CharField(max_length=8)  # "add" | "undo"
    actor = fields.CharField(max_length=32)  # "staff:<telegram id>"
    at = fields.DatetimeField()
    before = fields.JSONField(null=True)
    after = fields.JSONField(null=True)

    class Meta:
        table = "schedule_audit"
        indexes = (Index(fields=("override_id",), name="idx_schedule_audit_override"),)


class ReshuffleOutcome(StrEnum):
    WAITING = "waiting"  # the client was asked and has not answered yet
    MOVED = "moved"
    CANCELLED = "cancelled"
    FLAGGED = "flagged"  # nobody answered in time: a manager must call


class Reshuffle(Model):
    """A visit an override displaced: asked, then moved, cancelled or flagged, never lost."""

    id = fields.IntField(primary_key=True)
    appointment_id = fields.IntField(unique=True)
    override_id = fields.IntField()
    outcome = fields.CharEnumField(ReshuffleOutcome, max_length=16)
    asked_at = fields.DatetimeField()
    answer_by = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)
    new_appointment_id = fields.IntField(null=True)

    class Meta:
        table = "reshuffle"
        indexes = (Index(fields=("answer_by",), name="idx_reshuffle_answer_by"),)
