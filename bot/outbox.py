"""The outbox: messages that are not immediate replies, written with the change that causes them.

A row is inserted in the caller's transaction with a unique dedup key, so a retried
change never queues a message twice. Senders claim rows with a conditional update
(`locked_until`), so several processes never send one row twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bot.clock import Clock
from bot.models import Outbox, OutboxStatus

log = logging.getLogger("priyom.outbox")
CLAIM_SECONDS = 60
MAX_ATTEMPTS = 8

ButtonRows = Sequence[Sequence[tuple[str, str]]]  # [[(text, action), …], …]


class Undeliverable(Exception):
    """The message can never be delivered (blocked, chat gone): don't retry."""


class RetryLater(Exception):
    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds


class Sender(Protocol):
    async def send(self, row: Outbox) -> int | None:
        """Deliver the row; return the channel's message id. Raise Undeliverable/RetryLater."""
        ...


@dataclass(frozen=True)
class Message:
    text: str
    buttons: ButtonRows = ()
    photo: str | None = None  # "<bot>/photo:<file id>": the file and the bot that can read it

    def payload(self) -> dict:
        data: dict = {
            "text": self.text,
            "buttons": [[list(b) for b in row] for row in self.buttons],
        }
        if self.photo:
            data["photo"] = self.photo
        return data


async def enqueue(
    *,
    bot: str,
    chat_id: str | int,
    kind: str,
    message: Message,
    dedup_key: str,
    now: dt.datetime,
    lead_id: int | None = None,
    due_at: dt.datetime | None = None,
    channel: str = "telegram",
) -> Outbox | None:
    """Queue a message; None when one with this dedup key was queued already."""
    try:
        async with in_transaction():  # a savepoint inside the caller's transaction
            return await Outbox.create(
                bot=bot,
                channel=channel,
                chat_id=str(chat_id),
                kind=kind,
                payload=message.payload(),
                dedup_key=dedup_key,
                lead_id=lead_id,
                due_at=due_at or now,
                created_at=now,
            )
    except IntegrityError:
        return None


async def _claim(row: Outbox, now: dt.datetime) -> bool:
    claimed = await Outbox.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        id=row.id,
        status=OutboxStatus.PENDING,
    ).update(locked_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
    return bool(claimed)


async def deliver_due(sender: Sender, clock: Clock, limit: int = 50) -> int:
    """Send what is due now; returns how many were sent."""
    now = clock.now()
    rows = (
        await Outbox.filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now),
            status=OutboxStatus.PENDING,
            due_at__lte=now,
        )
        .order_by("due_at", "id")
        .limit(limit)
    )
    sent = 0
    for row in rows:
        if await _claim(row, now):
            sent += await _deliver(sender, row, clock)
    return sent


async def _deliver(sender: Sender, row: Outbox, clock: Clock) -> int:
    try:
        message_id = await sender.send(row)
    except Undeliverable as exc:
        await Outbox.filter(id=row.id).update(status=OutboxStatus.DEAD, error=str(exc)[:200])
        log.warning("outbox_dead", extra={"outbox": row.id, "lead": row.lead_id, "error": exc})
        return 0
    except RetryLater as exc:
        attempts = row.attempts + 1
        status = OutboxStatus.DEAD if attempts >= MAX_ATTEMPTS else OutboxStatus.PENDING
        await Outbox.filter(id=row.id).update(
            attempts=attempts,
            status=status,
            error=str(exc)[:200],
            locked_until=None,
            due_at=clock.now() + dt.timedelta(seconds=exc.seconds),
        )
        log.info("outbox_retry", extra={"outbox": row.id, "in_s": exc.seconds, "error": exc})
        return 0
    await Outbox.filter(id=row.id).update(
        status=OutboxStatus.SENT,
        sent_at=clock.now(),
        message_id=message_id,
        locked_until=None,
        attempts=row.attempts + 1,
    )
    return 1
