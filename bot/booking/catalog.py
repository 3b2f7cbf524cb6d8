"""The effective catalog: the TOML services with the owner's changes from the database.

The one place that combines them (`effective_config`): the client dialogue, the slot engine
and the staff views read services through it, so a new price or duration applies to the
next booking without a restart, in every process. Existing appointments keep the price
they were booked at (it is stored on the appointment). Every change is an audit row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tortoise.transactions import in_transaction

from bot.config import GRID_MINUTES, BusinessConfig, Service
from bot.numbers import amounts
from bot.staff_models import CatalogAudit, ServiceOverride

MAX_DURATION = 12 * 60
MAX_PRICE_KOP = 10_000_000_00  # ten million rubles: a typo, not a price
FIELDS = ("price", "duration", "deposit", "masters", "enabled")
_COLUMNS = {"price": "price_kop", "deposit": "deposit_kop"}


class CatalogInputError(ValueError):
    """A typed value that cannot be used; `key` names the polite answer (catalog.bad.*)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def _kop(rubles: Decimal) -> int:
    return int(rubles * 100)


def apply(
    config: BusinessConfig, rows: list[ServiceOverride], offered_only: bool
) -> BusinessConfig:
    """The config with each override applied; `offered_only` drops services switched off."""
    by_id = {r.service_id: r for r in rows}
    services = []
    for service in config.services:
        row = by_id.get(service.id)
        if row is not None:
            service = service.model_copy(update=_changes(row))
        if offered_only and row is not None and row.enabled is False:
            continue
        services.append(service)
    return config.model_copy(update={"services": services})


def _changes(row: ServiceOverride) -> dict:
    changes: dict = {}
    if row.price_kop is not None:
        changes["price"] = Decimal(row.price_kop) / 100
    if row.deposit_kop is not None:
        changes["deposit"] = Decimal(row.deposit_kop) / 100
    if row.duration is not None:
        changes["duration"] = row.duration
    if row.masters is not None:
        changes["masters"] = list(row.masters)
    return changes


async def effective_config(config: BusinessConfig, offered_only: bool = False) -> BusinessConfig:
    """The TOML config with the owner's changes (one small query; the table has a row per
    changed service at most)."""
    rows = await ServiceOverride.all()
    return apply(config, rows, offered_only) if rows else config


async def is_enabled(service_id: str) -> bool:
    row = await ServiceOverride.get_or_none(service_id=service_id)
    return row is None or row.enabled is not False


# --- typed values --------------------------------------------------------------------------


def parse_rubles(text: str) -> int:
    """Typed roubles → kopecks (bot.numbers.amounts reads them), within a price's bounds."""
    try:
        kop = amounts.parse_rubles(text)
    except ValueError:
        raise CatalogInputError("not_money", value=text) from None
    if kop > MAX_PRICE_KOP:
        raise CatalogInputError("too_much", value=text)
    return kop


def parse_price(text: str) -> int:
    kop = parse_rubles(text)
    if kop == 0:
        raise CatalogInputError("zero_price")
    return kop


def parse_duration(text: str) -> int:
    digits = text.strip().removesuffix("мин").removesuffix("min").strip()
    try:
        minutes = int(digits)
    except ValueError:
        raise CatalogInputError("not_minutes", value=text) from None
    if minutes <= 0 or minutes > MAX_DURATION:
        raise CatalogInputError("bad_minutes", max=MAX_DURATION)
    if minutes % GRID_MINUTES:
        lower = minutes - minutes % GRID_MINUTES
        raise CatalogInputError(
            "off_grid",
            value=minutes,
            grid=GRID_MINUTES,
            lower=lower or GRID_MINUTES,
            upper=lower + GRID_MINUTES,
        )
    return minutes


def shown(service: Service, field: str, enabled: bool = True) -> str:
    """A field's value as the audit trail keeps it (kopecks, minutes, ids, on/off)."""
    match field:
        case "price":
            return str(_kop(service.price))
        case "deposit":
            return str(_kop(service.deposit))
        case "duration":
            return str(service.duration)
        case "masters":
            return ",".join(service.masters)
        case _:
            return "on" if enabled else "off"


async def change(
    config: BusinessConfig, service_id: str, field: str, value: object, by: int, now: dt.datetime
) -> tuple[Service, Service]:
    """Store one field's new value over the TOML and the audit row, in one transaction.
    Returns the service before and after (as the effective catalog shows it)."""
    current = await effective_config(config)
    before = current.service(service_id)
    if before is None or field not in FIELDS:
        raise CatalogInputError("unknown_service")
    _check(before, field, value)
    enabled_before = await is_enabled(service_id)
    column = _COLUMNS.get(field, field)
    async with in_transaction():
        row, _ = await ServiceOverride.get_or_create(
            service_id=service_id, defaults={"updated_by": by, "updated_at": now}
        )
        setattr(row, column, value)
        row.updated_by, row.updated_at = by, now
        await row.save()
        after = apply(config, [row], offered_only=False).service(service_id)
        assert after is not None
        enabled_after = row.enabled is not False
        await CatalogAudit.create(
            service_id=service_id,
            field=field,
            before=shown(before, field, enabled_before),
            after=shown(after, field, enabled_after),
            by=by,
            at=now,
        )
    return before, after


def _check(service: Service, field: str, value: object) -> None:
    if field == "deposit" and isinstance(value, int) and value > _kop(service.price):
        raise CatalogInputError("deposit_over_price", price=_kop(service.price))
    if field == "price" and isinstance(value, int) and value < _kop(service.deposit):
        raise CatalogInputError("price_under_deposit", deposit=_kop(service.deposit))
    if field == "masters" and not value:
        raise CatalogInputError("no_masters")
