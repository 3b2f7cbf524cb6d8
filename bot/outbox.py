"""The outbox: messages that are not immediate replies, written with the change that causes them.

Delivery guarantee. A row is inserted in the caller's transaction with a unique dedup
key, so a change that is retried never queues its message twice, and a change that
rolls back queues nothing. A sender claims a row with a conditional UPDATE
(`locked_until`) before sending, so two senders — tasks, processes or machines — never
send one row at the same time. After Telegram accepts the message the row is marked
sent. The one window for a duplicate: the process dies (or the database is
unreachable) after Telegram accepted the message and before that mark commits, or
the request times out on our side after Telegram accepted it (sendMessage has no
idempotency key); the row is then sent again — after the claim expires
(CLAIM_SECONDS, well above the Bot API request timeout) or as a retry. Nothing is lost: a row stays
pending until it is sent, proven undeliverable (DEAD, shown to staff) or no longer
true (SKIPPED: a reminder of a moved or cancelled visit). Redis may be flushed at any
time: the next tick finds every due row in the database again.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bot import metrics
from bot.clock import Clock
from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, Lead, Outbox, OutboxStatus
from bot.ratelimit import NO_LIMIT, RateLimiter

log = logging.getLogger("priyom.outbox")
CLAIM_SECONDS = 90  # longer than a Bot API request may take (see handlers.telegram)
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 300

ButtonRows = Sequence[Sequence[tuple[str, str]]]  # [[(text, action), …], …]


class Undeliverable(Exception):
    """The message can never be delivered (blocked, chat gone): don't retry."""


class RetryLater(Exception):
    """Try again in `seconds` (Telegram's retry_after), or 0 for exponential backoff."""

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
    png: bytes | None = None  # a rendered chart, sent as a photo with `text` as its caption
    params: Sequence[str] = ()  # variables for a channel's approved template (see reminders)

    def payload(self) -> dict:
        data: dict = {
            "text": self.text,
            "buttons": [[list(b) for b in row] for row in self.buttons],
        }
        if self.photo:
            data["photo"] = self.photo
        if self.params:
            data["params"] = list(self.params)
        if self.png:  # base64 in the JSON payload: a chart is ~40 KB, stored once per owner
            data["png"] = base64.b64encode(self.png).decode("ascii")
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
    appointment_id: int | None = None,
    valid_start: dt.datetime | None = None,
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
                appointment_id=appointment_id,
                valid_start=valid_start,
            )
    except IntegrityError:
        return None


async def to_staff(
    chat_ids: Iterable[int | str],
    *,
    kind: str,
    message: Message,
    key: str,
    now: dt.datetime,
    lead_id: int | None,
) -> int:
    """Queue one message to several staff chats; each chat's copy is deduplicated apart."""
    queued = 0
    for chat_id in chat_ids:
        row = await enqueue(
            bot="staff",
            chat_id=chat_id,
            kind=kind,
            message=message,
            dedup_key=f"{kind}:{key}:{chat_id}",
            now=now,
            lead_id=lead_id,
        )
        queued += row is not None
    return queued


def _unclaimed(now: dt.datetime) -> Q:
    return Q(locked_until__isnull=True) | Q(locked_until__lt=now)


URGENT_KINDS = ("sla", "alert", "relay", "notice", "outcome")
"""Staff-facing messages go before a backlog of reminders: an escalation must not wait."""


async def due_ids(now: dt.datetime, limit: int) -> list[int]:
    """Ids of rows due now and not claimed by a sender, urgent kinds first."""
    due = Outbox.filter(_unclaimed(now), status=OutboxStatus.PENDING, due_at__lte=now)
    urgent = await (
        due.filter(kind__in=URGENT_KINDS).order_by("due_at", "id").limit(limit)
    ).values_list("id", flat=True)
    if len(urgent) >= limit:
        return list(urgent)
    rest = await (
        due.exclude(kind__in=URGENT_KINDS).order_by("due_at", "id").limit(limit - len(urgent))
    ).values_list("id", flat=True)
    return [*urgent, *rest]


async def claim(row_id: int, now: dt.datetime, seconds: float = CLAIM_SECONDS) -> Outbox | None:
    """Take the row for sending; None when another sender has it or it is done."""
    claimed = await Outbox.filter(_unclaimed(now), id=row_id, status=OutboxStatus.PENDING).update(
        locked_until=now + dt.timedelta(seconds=seconds)
    )
    return await Outbox.get(id=row_id) if claimed else None


async def release(row: Outbox) -> None:
    """Give a claimed row back untouched (e.g. its chat must wait a moment)."""
    await Outbox.filter(id=row.id).update(locked_until=None)


async def still_true(row: Outbox) -> bool:
    """A reminder goes out only while its visit is active and still starts then."""
    if row.appointment_id is None:
        return True
    appointment = await Appointment.get_or_none(
        id=row.appointment_id, status__in=ACTIVE_APPOINTMENT_STATUSES
    )
    return appointment is not None and appointment.start == row.valid_start


async def deliver(sender: Sender, row: Outbox, clock: Clock) -> bool:
    """Send one claimed row and record the result; True when it was sent."""
    if not await still_true(row):
        await Outbox.filter(id=row.id).update(status=OutboxStatus.SKIPPED, locked_until=None)
        log.info("outbox_skipped", extra={"outbox": row.id, "appointment": row.appointment_id})
        return False
    try:
        message_id = await sender.send(row)
    except Undeliverable as exc:
        await _dead(row, str(exc), clock.now())
        return False
    except RetryLater as exc:
        await _retry(row, exc, clock.now())
        return False
    await Outbox.filter(id=row.id).update(
        status=OutboxStatus.SENT,
        sent_at=clock.now(),
        message_id=message_id,
        locked_until=None,
        attempts=row.attempts + 1,
    )
    metrics.delivered(row.channel, row.bot, ok=True)
    return True


def backoff_seconds(attempts: int) -> float:
    return min(2.0**attempts, MAX_BACKOFF_SECONDS)


async def _retry(row: Outbox, exc: RetryLater, now: dt.datetime) -> None:
    # Flood control (retry_after) is Telegram pacing us, not a failure: it never makes a
    # message dead. Errors back off and count towards MAX_ATTEMPTS.
    attempts = row.attempts + (1 if exc.seconds <= 0 else 0)
    if attempts >= MAX_ATTEMPTS:
        await _dead(row, f"gave up after {attempts} attempts: {exc}", now)
        return
    wait = exc.seconds if exc.seconds > 0 else backoff_seconds(attempts)
    await Outbox.filter(id=row.id).update(
        attempts=attempts,
        error=str(exc)[:200],
        locked_until=None,
        due_at=now + dt.timedelta(seconds=wait),
    )
    log.info("outbox_retry", extra={"outbox": row.id, "in_s": wait, "error": exc})


async def failed_after_send(channel: str, external_id: str, error: str, now: dt.datetime) -> bool:
    """A channel reported later that a sent message never arrived (WhatsApp's «failed»):
    the row becomes dead and its lead is flagged, as if the send itself had failed."""
    row = await Outbox.get_or_none(channel=channel, external_id=external_id)
    if row is None:
        return False
    await _dead(row, f"failed after sending: {error}", now)
    return True


async def _dead(row: Outbox, error: str, now: dt.datetime) -> None:
    """Never retried again; staff see it on the lead (a client who blocked the bot)."""
    async with in_transaction():
        await Outbox.filter(id=row.id).update(
            status=OutboxStatus.DEAD, error=error[:200], locked_until=None
        )
        if row.bot == "client" and row.lead_id is not None:
            await Lead.filter(id=row.lead_id).update(
                needs_human=True, handoff_reason="undeliverable", updated_at=now
            )
    metrics.delivered(row.channel, row.bot, ok=False)
    log.warning("outbox_dead", extra={"outbox": row.id, "lead": row.lead_id, "error": error})


async def deliver_due(
    sender: Sender,
    clock: Clock,
    limit: int = 50,
    limiter: RateLimiter | None = None,
    concurrency: int = 8,
    claim_seconds: float = CLAIM_SECONDS,
) -> int:
    """Send what is due now, within the rate limits; returns how many were sent."""
    limiter = limiter or NO_LIMIT
    gate = asyncio.Semaphore(concurrency)

    async def one(row_id: int) -> bool:
        async with gate:
            row = await claim(row_id, clock.now(), claim_seconds)
            if row is None:
                return False
            if not await limiter.acquire(row.bot, row.chat_id):
                await release(row)  # this chat must wait; its turn comes on a later pass
                return False
            try:
                return await deliver(sender, row, clock)
            except Exception as exc:  # a sender bug must not stop the other rows
                await _retry(row, RetryLater(0, f"unexpected: {exc!r}"), clock.now())
                log.exception("outbox_send_failed", extra={"outbox": row.id})
                return False

    ids = await due_ids(clock.now(), limit)
    results = await asyncio.gather(*(one(i) for i in ids))
    return sum(results)
