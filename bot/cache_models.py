"""Version counters that let each process cache what rarely changes and still see every
change at once: the database's triggers (migration 13) bump them in the transaction that
changes the data, whatever code or process makes the change."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class CacheVersion(Model):
    """`master:<id>`: that master's visits or time overrides changed; `catalog`: the
    owner's service overrides changed."""

    key = fields.CharField(max_length=40, primary_key=True)
    version = fields.BigIntField(default=0)

    class Meta:
        table = "cache_version"
