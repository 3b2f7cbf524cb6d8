"""Staff hear once when messages to clients run late: a channel's outage, a revoked token.

Transient failures are retried for as long as it takes (bot.delivery.outbox), so an outage shows
as client-bound rows that have failed at least once and wait. When such a row was queued
more than `sla.delivery_late_minutes` ago, an outage opens: a flag row (an outbox row of
kind "outage" that is never sent, whose unique dedup key OPEN_KEY makes it one per
outage however many processes look) and, in the same transaction, one alert to the
owners and managers through the staff bot. The outage closes, logged as a recovery, once
no client row is failing any more; only a later outage alerts again.
"""

from __future__ import annotations

import datetime as dt
import logging

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.config import BusinessConfig
from bot.delivery.outbox import Message, to_staff
from bot.i18n import Texts
from bot.models import Outbox, OutboxStatus, StaffMember, StaffRole

log = logging.getLogger("priyom.outbox")
OPEN_KEY = "outage:open"


def failing_client_rows():
    """Client-bound rows that failed at least once and still wait for a retry."""
    return Outbox.filter(status=OutboxStatus.PENDING, bot="client", attempts__gt=0)


async def staff_chats(config: BusinessConfig, owner_ids: frozenset[int]) -> list[int]:
    """Owners and managers (or the staff group): whoever can call a client meanwhile."""
    if config.staff.group_chat_id is not None:
        return [config.staff.group_chat_id]
    managers = await StaffMember.filter(role=StaffRole.MANAGER, active=True).values_list(
        "telegram_id", flat=True
    )
    return sorted(set(owner_ids) | set(managers))


async def check_lateness(
    config: BusinessConfig, t: Texts, owner_ids: frozenset[int], now: dt.datetime
) -> int:
    """Open an outage (and alert) or close one (and log it); 1 when staff were alerted."""
    flag = await Outbox.get_or_none(dedup_key=OPEN_KEY)
    if flag is not None:
        if not await failing_client_rows().exists():
            await _close(flag, now)
        return 0
    limit = dt.timedelta(minutes=config.sla.delivery_late_minutes)
    late = failing_client_rows().filter(created_at__lte=now - limit)
    oldest = await late.order_by("created_at").first()
    if oldest is None:
        return 0
    return await _open(config, t, owner_ids, now, oldest.created_at, await late.count())


async def _open(
    config: BusinessConfig,
    t: Texts,
    owner_ids: frozenset[int],
    now: dt.datetime,
    since: dt.datetime,
    count: int,
) -> int:
    minutes = int((now - since).total_seconds() // 60)
    text = t("delivery.late", count=count, minutes=minutes)
    try:
        async with in_transaction():
            flag = await Outbox.create(
                bot="staff",
                chat_id="",
                kind="outage",
                payload={"since": since.isoformat()},
                dedup_key=OPEN_KEY,
                status=OutboxStatus.SKIPPED,  # a flag, never sent
                due_at=now,
                created_at=now,
            )
            chats = await staff_chats(config, owner_ids)
            await to_staff(
                chats, kind="late", message=Message(text), key=str(flag.id), now=now, lead_id=None
            )
    except IntegrityError:  # another process opened it first
        return 0
    log.warning("delivery_late", extra={"outage": flag.id, "late_rows": count, "late_min": minutes})
    return 1


async def _close(flag: Outbox, now: dt.datetime) -> None:
    """The flag keeps its history under its own key; `sent_at` is when delivery recovered."""
    closed = await Outbox.filter(id=flag.id, dedup_key=OPEN_KEY).update(
        dedup_key=f"outage:{flag.id}", sent_at=now
    )
    if closed:
        since = dt.datetime.fromisoformat(flag.payload["since"])
        log.info(
            "delivery_recovered",
            extra={"outage": flag.id, "outage_min": int((now - since).total_seconds() // 60)},
        )
