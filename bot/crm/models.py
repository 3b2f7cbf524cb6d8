"""The CRM sync queue and the remote ids of what was pushed (migration 10)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class TaskKind(StrEnum):
    PUSH = "push"  # the lead with its contact, source, campaign and UTM
    STATUS = "status"  # the lead's status moved in the bot
    COMMENT = "comment"  # an outcome with the dialogue summary, on the lead's timeline
    FORGET = "forget"  # the client asked to be forgotten: anonymise or delete the contact


class TaskStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"  # the CRM refused it for good (a deleted lead); shown by `crm sync`
    SKIPPED = "skipped"  # no longer to be sent (the client was erased first)


class CrmTask(Model):
    """One change to bring to the CRM, written in the transaction of the change itself;
    delivered in id order per lead (`order_key`), retried with backoff until it is done."""

    id = fields.IntField(primary_key=True)
    crm = fields.CharField(max_length=16)  # "bitrix24" | "amocrm"
    kind = fields.CharEnumField(TaskKind, max_length=8)
    lead_id = fields.IntField(null=True)
    client_id = fields.IntField(null=True)
    order_key = fields.CharField(max_length=24)  # "lead:<id>" or "client:<id>": one line
    payload = fields.JSONField(default=dict)  # {"status": …} or {"text": …}; ids, no contact data
    dedup_key = fields.CharField(max_length=128, unique=True)
    status = fields.CharEnumField(TaskStatus, max_length=8, default=TaskStatus.PENDING)
    attempts = fields.IntField(default=0)
    due_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    failing_since = fields.DatetimeField(null=True)  # the first failed attempt, for alerts
    done_at = fields.DatetimeField(null=True)
    error = fields.CharField(max_length=200, null=True)
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "crm_task"
        indexes = (
            Index(fields=("status", "due_at"), name="idx_crm_task_status_due"),
            Index(fields=("order_key", "status"), name="idx_crm_task_order"),
            Index(fields=("lead_id",), name="idx_crm_task_lead"),
        )


class CrmLink(Model):
    """What a local lead or client is called in the CRM: a retried push finds it here and
    never creates a second lead or contact; an event from the CRM finds its lead."""

    id = fields.IntField(primary_key=True)
    crm = fields.CharField(max_length=16)
    kind = fields.CharField(max_length=8)  # "lead" | "contact"
    local_id = fields.IntField()
    remote_id = fields.CharField(max_length=32)
    created_at = fields.DatetimeField()

    class Meta:
        table = "crm_link"
        unique_together = (("crm", "kind", "local_id"),)
        indexes = (Index(fields=("crm", "kind", "remote_id"), name="idx_crm_link_remote"),)


class CrmToken(Model):
    """OAuth tokens of a CRM that rotates them (amoCRM: a refresh token works once).

    A refresh writes the new pair in one UPDATE that also keeps the old refresh token
    (`previous_refresh`), guarded by `version`, so two processes never both spend one
    refresh token and a half-done refresh never leaves the row without a working pair."""

    id = fields.IntField(primary_key=True)
    crm = fields.CharField(max_length=16, unique=True)
    access_token = fields.TextField()
    refresh_token = fields.TextField()
    previous_refresh = fields.TextField(null=True)
    expires_at = fields.DatetimeField()
    version = fields.IntField(default=0)
    refreshing_until = fields.DatetimeField(null=True)  # a process is refreshing: wait
    broken = fields.CharField(max_length=200, null=True)  # the CRM refused the refresh token
    updated_at = fields.DatetimeField()

    class Meta:
        table = "crm_token"
