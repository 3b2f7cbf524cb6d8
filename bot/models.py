"""The data model. Times are stored in UTC; money in integer kopecks."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class LeadStatus(StrEnum):
    NEW = "new"
    QUALIFIED = "qualified"
    CONFIRMED = "confirmed"
    CAME = "came"
    NO_SHOW = "no_show"
    LOST = "lost"


OPEN_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.QUALIFIED, LeadStatus.CONFIRMED)


class AppointmentStatus(StrEnum):
    PENDING = "pending"  # a pre-booking: the slot is held until staff confirm
    CONFIRMED = "confirmed"  # booked: confirmed by staff, or at once in instant mode
    HELD = "held"  # the slot is held while the client pays the deposit (bot.payments)
    CANCELLED = "cancelled"
    CAME = "came"
    NO_SHOW = "no_show"


ACTIVE_APPOINTMENT_STATUSES = (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED)
OCCUPYING_STATUSES = (*ACTIVE_APPOINTMENT_STATUSES, AppointmentStatus.HELD)
"""What takes a master's time: the active visits plus holds awaiting a deposit (a hold is not
yet a visit: no reminders, no outcome, not in the client's list)."""


class Client(Model):
    """A person who consented to personal-data processing (no row exists before consent)."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    channel_user_id = fields.CharField(max_length=64)
    name = fields.CharField(max_length=80, null=True)
    phone = fields.CharField(max_length=20, null=True)
    consent_at = fields.DatetimeField(null=True)
    consent_policy_version = fields.CharField(max_length=32, null=True)
    erased_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "client"
        unique_together = (("channel", "channel_user_id"),)
        # forms and calls find the person by phone (migration 5)
        indexes = (Index(fields=("phone",), name="idx_client_phone"),)


class Lead(Model):
    id = fields.IntField(primary_key=True)
    client: fields.ForeignKeyNullableRelation[Client] = fields.ForeignKeyField(
        "models.Client", related_name="leads", null=True, on_delete=fields.SET_NULL
    )
    channel = fields.CharField(max_length=16)
    source = fields.CharField(max_length=24, null=True, db_index=True)
    campaign = fields.CharField(max_length=32, null=True)
    status = fields.CharEnumField(LeadStatus, max_length=16, default=LeadStatus.NEW)
    lost_reason = fields.CharField(max_length=200, null=True)
    manager_id = fields.BigIntField(null=True)
    needs_human = fields.BooleanField(default=False)
    handoff_reason = fields.CharField(max_length=32, null=True)
    attention_at = fields.DatetimeField(null=True)  # since when it waits for a human (SLA)
    created_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField()
    ai_intent = fields.CharField(max_length=16, null=True)  # booking | price_question | …
    ai_warmth = fields.CharField(max_length=8, null=True)  # hot | warm | cold
    ai_summary = fields.CharField(max_length=160, null=True)  # one line about the dialogue

    class Meta:
        table = "lead"
        indexes = (Index(fields=("attention_at",), name="idx_lead_attention_at"),)  # migration 1


class LeadEvent(Model):
    """Every status change of a lead: who, when, from, to."""

    id = fields.IntField(primary_key=True)
    lead: fields.ForeignKeyRelation[Lead] = fields.ForeignKeyField(
        "models.Lead", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField(db_index=True)
    actor = fields.CharField(max_length=32)  # "bot", "client", "staff:<telegram id>"
    from_status = fields.CharEnumField(LeadStatus, max_length=16, null=True)
    to_status = fields.CharEnumField(LeadStatus, max_length=16)
    kind = fields.CharField(max_length=16, default="status")  # "status", "claim", "handoff"
    note = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "lead_event"


class Appointment(Model):
    id = fields.IntField(primary_key=True)
    lead: fields.ForeignKeyNullableRelation[Lead] = fields.ForeignKeyField(
        "models.Lead", related_name="appointments", null=True, on_delete=fields.SET_NULL
    )
    client: fields.ForeignKeyNullableRelation[Client] = fields.ForeignKeyField(
        "models.Client", related_name="appointments", null=True, on_delete=fields.SET_NULL
    )
    service_id = fields.CharField(max_length=16)
    addon_ids = fields.JSONField(default=list)
    master_id = fields.CharField(max_length=16, db_index=True)
    start = fields.DatetimeField(db_index=True)
    end = fields.DatetimeField()
    price_kop = fields.BigIntField()
    deposit_kop = fields.BigIntField(default=0)
    paid_kop = fields.BigIntField(null=True)
    status = fields.CharEnumField(AppointmentStatus, max_length=16)
    client_confirmed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "appointment"
        indexes = (  # migration 1: KPI queries
            Index(fields=("lead_id",), name="idx_appointment_lead_id"),
            Index(fields=("created_at",), name="idx_appointment_created_at"),
        )


class MasterCell(Model):
    """One grid step of a master's time held by an appointment (incl. its buffer).

    The unique (master, cell) pair is what makes double booking impossible: two
    overlapping appointments would need the same cell, and the database refuses the
    second insert whatever process it comes from (SQLite ignores SELECT … FOR UPDATE).
    """

    id = fields.IntField(primary_key=True)
    appointment: fields.ForeignKeyRelation[Appointment] = fields.ForeignKeyField(
        "models.Appointment", related_name="cells", on_delete=fields.CASCADE
    )
    master_id = fields.CharField(max_length=16)
    cell = fields.BigIntField()  # minutes since the Unix epoch // GRID_MINUTES

    class Meta:
        table = "master_cell"
        unique_together = (("master_id", "cell"),)


class Conversation(Model):
    """Scenario state per chat, so a restart mid-dialogue loses nothing."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    chat_id = fields.CharField(max_length=64)
    client: fields.ForeignKeyNullableRelation[Client] = fields.ForeignKeyField(
        "models.Client", related_name="conversations", null=True, on_delete=fields.SET_NULL
    )
    lead: fields.ForeignKeyNullableRelation[Lead] = fields.ForeignKeyField(
        "models.Lead", related_name="conversations", null=True, on_delete=fields.SET_NULL
    )
    relay_staff_id = fields.BigIntField(null=True)  # a manager talks to this client now
    state = fields.JSONField(default=dict)
    version = fields.IntField(default=0)  # optimistic lock across processes
    updated_at = fields.DatetimeField()

    class Meta:
        table = "conversation"
        unique_together = (("channel", "chat_id"),)


class MessageLog(Model):
    """Every inbound and outbound message with its time (response-time KPIs)."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    chat_id = fields.CharField(max_length=64)
    client: fields.ForeignKeyNullableRelation[Client] = fields.ForeignKeyField(
        "models.Client", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    lead: fields.ForeignKeyNullableRelation[Lead] = fields.ForeignKeyField(
        "models.Lead", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    direction = fields.CharField(max_length=3)  # "in" | "out"
    author = fields.CharField(max_length=32)  # "client", "bot", "staff:<id>"
    kind = fields.CharField(max_length=16)
    text = fields.TextField(null=True)  # None before consent and after erasure
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "message_log"
        indexes = (Index(fields=("lead_id", "at"), name="idx_message_log_lead_at"),)  # migration 1


class StaffRole(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    MASTER = "master"


class StaffMember(Model):
    """A manager or master who joined through an invite (owners come from the config)."""

    id = fields.IntField(primary_key=True)
    telegram_id = fields.BigIntField(unique=True)
    role = fields.CharEnumField(StaffRole, max_length=16)
    master_id = fields.CharField(max_length=16, null=True)  # a master's id in the config
    name = fields.CharField(max_length=80)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    removed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_member"


class Invite(Model):
    """A one-time deep link for joining the staff bot in a role."""

    id = fields.IntField(primary_key=True)
    token = fields.CharField(max_length=32, unique=True)
    role = fields.CharEnumField(StaffRole, max_length=16)
    master_id = fields.CharField(max_length=16, null=True)
    created_by = fields.BigIntField()
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_by = fields.BigIntField(null=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invite"


class StaffRefusal(Model):
    """Strangers who were already told «no» once: they get nothing more."""

    telegram_id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()

    class Meta:
        table = "staff_refusal"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # can never be delivered (e.g. the person blocked the bot)
    SKIPPED = "skipped"  # no longer true (a reminder of a moved or cancelled visit)


class Outbox(Model):
    """A message to send later, written in the transaction of the change that causes it."""

    id = fields.IntField(primary_key=True)
    bot = fields.CharField(max_length=16)  # "client" | "staff"
    channel = fields.CharField(max_length=16, default="telegram")
    chat_id = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=24)  # "alert", "notice", "outcome", …
    payload = fields.JSONField()  # {"text": …, "buttons": [[[text, action], …], …]}
    dedup_key = fields.CharField(max_length=128, unique=True)
    lead_id = fields.IntField(null=True, db_index=True)
    status = fields.CharEnumField(OutboxStatus, max_length=8, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    due_at = fields.DatetimeField(db_index=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    message_id = fields.BigIntField(null=True)  # the sent message, for later edits
    external_id = fields.CharField(max_length=128, null=True)  # a channel's string id (wamid)
    error = fields.CharField(max_length=200, null=True)
    locked_until = fields.DatetimeField(null=True)  # a sender's claim, so two never send one
    # A reminder is only sent while its appointment is active and still starts then.
    appointment_id = fields.IntField(null=True, db_index=True)
    valid_start = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"
        # delivery statuses find their row by the channel's id (migration 4)
        indexes = (Index(fields=("external_id",), name="idx_outbox_external_id"),)


class OutcomePrompt(Model):
    """The came-or-no-show question was asked for this appointment (once, by any process)."""

    appointment_id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()

    class Meta:
        table = "outcome_prompt"


class StaffAwaiting(Model):
    """A staff member's next typed message answers a question (an amount, a reason)."""

    telegram_id = fields.BigIntField(primary_key=True)
    what = fields.CharField(max_length=16)  # "amount" | "lost_reason"
    ref = fields.IntField()  # the appointment or lead it is about
    at = fields.DatetimeField()

    class Meta:
        table = "staff_awaiting"


class SlaBreach(Model):
    """A missed SLA deadline: recorded once per lead and kind (compliance is a KPI)."""

    id = fields.IntField(primary_key=True)
    lead: fields.ForeignKeyRelation[Lead] = fields.ForeignKeyField(
        "models.Lead", related_name="sla_breaches", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=24)  # "claim", "owner", "human_reply", "prebooking"
    due_at = fields.DatetimeField()
    detected_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "sla_breach"
        unique_together = (("lead", "kind"),)


class AiUsage(Model):
    """Model calls and tokens per month and purpose, for the owner's /ai (no texts stored)."""

    id = fields.IntField(primary_key=True)
    month = fields.CharField(max_length=7)  # "2026-11", business-local
    purpose = fields.CharField(max_length=16)  # understand | reminder | staff
    calls = fields.IntField(default=0)
    failures = fields.IntField(default=0)  # timeouts, errors, invalid output
    prompt_tokens = fields.BigIntField(default=0)
    completion_tokens = fields.BigIntField(default=0)

    class Meta:
        table = "ai_usage"
        unique_together = (("month", "purpose"),)


class AdSpend(Model):
    """Ad spend on one source in one local month; entering it again corrects it (upsert).

    `starts_at`/`ends_at` are the month's local midnights in UTC, stored at entry so a
    reader can prorate any period without the business timezone.
    """

    id = fields.IntField(primary_key=True)
    source = fields.CharField(max_length=24)
    month = fields.CharField(max_length=7)  # "2026-11"
    amount_kop = fields.BigIntField()
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    entered_by = fields.BigIntField()  # who entered it last (Telegram id)
    entered_at = fields.DatetimeField()

    class Meta:
        table = "ad_spend"
        unique_together = (("source", "month"),)


class RoiBaseline(Model):
    """The owner's figures before Priyom and its cost; each entry is a new row (history),
    the newest one counts. Percentages are in basis points (18 % = 1800)."""

    id = fields.IntField(primary_key=True)
    leads_per_month = fields.IntField()
    conversion_bp = fields.IntField()
    check_kop = fields.BigIntField()
    no_show_bp = fields.IntField()
    margin_bp = fields.IntField(default=10000)  # 100 %: revenue is counted as profit
    oneoff_kop = fields.BigIntField()
    monthly_kop = fields.BigIntField()
    entered_by = fields.BigIntField()
    entered_at = fields.DatetimeField()

    class Meta:
        table = "roi_baseline"


class InboundMessage(Model):
    """A message id a webhook channel delivered: processed once however often it arrives;
    the newest per chat also opens WhatsApp's 24-hour customer-service window (the hourly
    prune keeps it: bot.delivery.step_outbox.prune_receipts)."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    chat_id = fields.CharField(max_length=64)
    message_id = fields.CharField(max_length=128)
    at = fields.DatetimeField()

    class Meta:
        table = "inbound_message"
        unique_together = (("channel", "message_id"),)
        indexes = (Index(fields=("channel", "chat_id", "at"), name="idx_inbound_message_chat_at"),)


class ChannelMenu(Model):
    """The options last offered to a chat as numbered text, so «2» presses the second."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    chat_id = fields.CharField(max_length=64)
    actions = fields.JSONField(default=list)
    at = fields.DatetimeField()

    class Meta:
        table = "channel_menu"
        unique_together = (("channel", "chat_id"),)


class DeliveryStatus(Model):
    """The latest delivery status a channel reported for a sent message (sent, delivered,
    read, failed), keyed by the channel's own message id."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=128)
    chat_id = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16)
    error = fields.CharField(max_length=200, null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "delivery_status"
        unique_together = (("channel", "external_id"),)


class IntakeReceipt(Model):
    """A website form or a call notification, taken once however often it is delivered
    (key: Tilda's `tranid`, the call id, a hash of a generic form); what the form said and
    the consent it carried are kept with the lead it opened or joined."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=128, unique=True)
    kind = fields.CharField(max_length=8)  # "form" | "call"
    lead_id = fields.IntField(null=True, db_index=True)
    consent_text = fields.CharField(max_length=500, null=True)
    policy_version = fields.CharField(max_length=32, null=True)
    details = fields.JSONField(default=dict)  # service, time, comment, utm
    at = fields.DatetimeField()

    class Meta:
        table = "intake_receipt"
