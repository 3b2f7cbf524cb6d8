"""Tables the staff bot writes besides the team: calendar feed tokens and the catalog's
overrides with their audit trail (one module, so bot/models.py stays readable)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class CalendarToken(Model):
    """A master's ICS feed token, stored only as its SHA-256: a database leak shows no URL."""

    id = fields.IntField(primary_key=True)
    master_id = fields.CharField(max_length=16, db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_by = fields.BigIntField()
    created_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "calendar_token"


class ServiceOverride(Model):
    """The owner's changes to one TOML service; a None field keeps the TOML value."""

    service_id = fields.CharField(max_length=16, primary_key=True)
    price_kop = fields.BigIntField(null=True)
    duration = fields.IntField(null=True)
    deposit_kop = fields.BigIntField(null=True)
    masters = fields.JSONField(null=True)
    enabled = fields.BooleanField(null=True)
    updated_by = fields.BigIntField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "service_override"


class CatalogAudit(Model):
    """One change of one field of a service: who, when, before, after (as shown values)."""

    id = fields.IntField(primary_key=True)
    service_id = fields.CharField(max_length=16, db_index=True)
    field = fields.CharField(max_length=16)
    before = fields.CharField(max_length=200, null=True)
    after = fields.CharField(max_length=200, null=True)
    by = fields.BigIntField()
    at = fields.DatetimeField()

    class Meta:
        table = "catalog_audit"
