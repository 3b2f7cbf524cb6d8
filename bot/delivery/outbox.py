"""The outbox: messages written in the transaction of the change that causes them (alerts,
reminders, a booking's confirmation, every reply on the webhook channels).

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
pending until it is sent, proven undeliverable (DEAD: a permanent answer such as a blocked
bot or a chat that does not exist, shown to staff) or no longer true (SKIPPED: a reminder
of a visit that began, moved or was cancelled; see bot.delivery.freshness). A transient failure (no
connection, a timeout, 5xx, 429) never makes a row dead: it backs off, capped and jittered,
for as long as it takes; staff hear once when client messages run late (bot.delivery.lateness).
Redis may be flushed at any time: the next tick finds every due row in the database again.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from bot import metrics, raw_sql
from bot.clock import Clock
from bot.delivery import freshness
from bot.delivery.outbox_rows import insert_sql, record_sent, row_values
from bot.delivery.ratelimit import NO_LIMIT, RateLimiter
from bot.models import Lead, Outbox, OutboxStatus

log = logging.getLogger("priyom.outbox")
CLAIM_SECONDS = 90  # longer than a Bot API request may take (see handlers.telegram)
MAX_BACKOFF_SECONDS = 300  # a transient failure is retried at least this often, forever

# [[(text, action), …], …]; a link button is (text, "", url)
ButtonRows = Sequence[Sequence[tuple[str, ...]]]


class Undeliverable(Exception):
    """A permanent answer (blocked, chat gone, invalid request): the row is dead, never retried."""


class RetryLater(Exception):
    """A transient failure: try again in `seconds` (a server's retry_after), or 0 for
    exponential backoff. Never makes the row dead, however often it happens."""

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
    ask_contact: bool = False  # a dialogue reply asking for the phone (the share control)
    invoice: dict | None = None  # a Telegram invoice (bot.payments.holds): sent as sendInvoice

    def payload(self) -> dict:
        data: dict = {
            "text": self.text,
            "buttons": [[list(b) for b in row] for row in self.buttons],
        }
        if self.photo:
            data["photo"] = self.photo
        if self.params:
            data["params"] = list(self.params)
        if self.ask_contact:
            data["ask_contact"] = True
        if self.invoice:
            data["invoice"] = dict(self.invoice)
        if self.png:  # base64 in the JSON payload: a chart is ~40 KB, stored once per owner
            data["png"] = base64.b64encode(self.png).decode("ascii")
        return data


def new_row(
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
) -> Outbox:
    """An unsaved outbox row (see `enqueue` and `enqueue_many`)."""
    return Outbox(
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
    row = new_row(
        bot=bot,
        chat_id=chat_id,
        kind=kind,
        message=message,
        dedup_key=dedup_key,
        now=now,
        lead_id=lead_id,
        due_at=due_at,
        channel=channel,
        appointment_id=appointment_id,
        valid_start=valid_start,
    )
    try:
        async with in_transaction():  # a savepoint inside the caller's transaction
            await row.save()
            return row
    except IntegrityError:
        return None


async def enqueue_many(rows: Sequence[Outbox]) -> int:
    """Queue many rows in one transaction and one INSERT per batch (a burst of reminders:
    one savepoint each took a second per thousand); a dedup key queued already is left
    alone. Returns how many were new."""
    keys = [row.dedup_key for row in rows]
    async with in_transaction():
        before = await Outbox.filter(dedup_key__in=keys).count()
        await Outbox.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        return await Outbox.filter(dedup_key__in=keys).count() - before


async def to_staff(
    chat_ids: Iterable[int | str],
    *,
    kind: str,
    message: Message,
    key: str,
    now: dt.datetime,
    lead_id: int | None,
) -> int:
    """Queue one message to several staff chats; each chat's copy is deduplicated apart.
    One INSERT for them all: a copy queued already is skipped (no savepoint per chat)."""
    payload = message.payload()
    rows = [
        Outbox(
            bot="staff",
            channel="telegram",
            chat_id=chat,
            kind=kind,
            payload=payload,
            dedup_key=f"{kind}:{key}:{chat}",
            lead_id=lead_id,
            status=OutboxStatus.PENDING,
            attempts=0,
            due_at=now,
            created_at=now,
        )
        for chat in dict.fromkeys(str(c) for c in chat_ids)
    ]
    if not rows:
        return 0
    return len(await raw_sql.fetch(insert_sql(len(rows), skip_known=True), row_values(rows)))


def _unclaimed(now: dt.datetime) -> Q:
    return Q(locked_until__isnull=True) | Q(locked_until__lt=now)


URGENT_KINDS = (
    "sla",
    "alert",
    "relay",
    "notice",
    "outcome",
    "late",
    "reply",
    "invoice",
    "pay_link",
)
"""Staff-facing messages, and a dialogue's replies whose immediate send failed, go before a
backlog of reminders: an escalation or an answer must not wait."""


def _due(now: dt.datetime, skip: Collection[int] = ()) -> QuerySet[Outbox]:
    due = Outbox.filter(_unclaimed(now), status=OutboxStatus.PENDING, due_at__lte=now)
    return due.exclude(id__in=list(skip)) if skip else due


async def due_rows(
    now: dt.datetime, limit: int, *, urgent: bool | None = None, skip: Collection[int] = ()
) -> list[tuple[int, str, str]]:
    """(id, bot, chat id) of rows due now and not claimed by a sender: urgent kinds first
    (None), only those (True) or only the others (False); `skip`: ids a pass has seen."""
    fields = ("id", "bot", "chat_id")
    found: list[tuple[int, str, str]] = []
    if urgent is not False:
        found += await (
            _due(now, skip).filter(kind__in=URGENT_KINDS).order_by("due_at", "id").limit(limit)
        ).values_list(*fields)
    if urgent is not True and len(found) < limit:
        found += await (
            _due(now, skip)
            .exclude(kind__in=URGENT_KINDS)
            .order_by("due_at", "id")
            .limit(limit - len(found))
        ).values_list(*fields)
    return found


async def due_ids(now: dt.datetime, limit: int) -> list[int]:
    """Ids of rows due now and not claimed by a sender, urgent kinds first."""
    return [row_id for row_id, _, _ in await due_rows(now, limit)]


async def claim(row_id: int, now: dt.datetime, seconds: float = CLAIM_SECONDS) -> Outbox | None:
    """Take the row for sending; None when another sender has it, it is done, or it is not
    due (a delivery job queued before another sender's failed try moved it later)."""
    claimed = await Outbox.filter(
        _unclaimed(now), id=row_id, status=OutboxStatus.PENDING, due_at__lte=now
    ).update(locked_until=now + dt.timedelta(seconds=seconds))
    return await Outbox.get(id=row_id) if claimed else None


async def release(row: Outbox) -> None:
    """Give a claimed row back untouched (e.g. its chat must wait a moment)."""
    await Outbox.filter(id=row.id).update(locked_until=None)


async def still_true(row: Outbox, now: dt.datetime) -> bool:
    """Whether the row is still worth sending (bot.delivery.freshness), just before sending."""
    return await freshness.still_true(row, now)


async def deliver(sender: Sender, row: Outbox, clock: Clock) -> bool:
    """Send one claimed row and record the result; True when it was sent."""
    if not await still_true(row, clock.now()):
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
    await record_sent(row, message_id, clock.now())
    return True


async def deliver_safely(sender: Sender, row: Outbox, clock: Clock) -> bool:
    """`deliver`, where a sender's bug retries the row later instead of stopping the caller."""
    try:
        return await deliver(sender, row, clock)
    except Exception as exc:
        await _retry(row, RetryLater(0, f"unexpected: {exc!r}"), clock.now())
        log.exception("outbox_send_failed", extra={"outbox": row.id})
        return False


def backoff_seconds(attempts: int, row_id: int = 0) -> float:
    """2^attempts seconds, capped at MAX_BACKOFF_SECONDS, times a jitter in [0.5, 1).

    The jitter is derived from the row and the attempt, so it is repeatable (tests move
    the clock to it) yet spreads rows that failed together: after an outage they come
    back over a few minutes, not all in the same second.
    """
    base = min(2.0 ** min(attempts, 16), MAX_BACKOFF_SECONDS)
    return base * (0.5 + random.Random(row_id * 1_000_003 + attempts).random() / 2)


async def _retry(row: Outbox, exc: RetryLater, now: dt.datetime) -> None:
    # Flood control (retry_after) is the server pacing us: it waits as asked and does not
    # raise the backoff. Other transient failures back off further each time, capped.
    attempts = row.attempts + (1 if exc.seconds <= 0 else 0)
    wait = exc.seconds if exc.seconds > 0 else backoff_seconds(attempts, row.id)
    await Outbox.filter(id=row.id).update(
        attempts=attempts,
        error=str(exc)[:200],
        locked_until=None,
        due_at=now + dt.timedelta(seconds=wait),
    )
    log.info("outbox_retry", extra={"outbox": row.id, "in_s": round(wait, 1), "error": exc})


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


async def deliver_now(rows: Sequence[Outbox], sender: Sender, clock: Clock) -> int:
    """Send the rows a dialogue step has just committed, in order, right after the commit.

    The step wrote them already claimed (`claimed_until`), so no tick sends them meanwhile,
    and a process that dies here leaves them to the tick once the claim expires. A row
    that cannot go now (a 5xx, a timeout) stays pending, and the rows after it wait behind
    it, so the chat still gets its answers once and in order. Each send is recorded (one
    UPDATE) before the next row goes, so a process that dies here sends again only the row
    it had in flight, never the rows before it.
    """
    sent = 0
    for index, row in enumerate(rows):
        if await deliver_safely(sender, row, clock):
            sent += 1
        elif await hold_behind(row.id, [r.id for r in rows[index + 1 :]]):
            break
    return sent


def claimed_until(now: dt.datetime) -> dt.datetime:
    """The claim a writer puts on rows it will send itself right after its commit."""
    return now + dt.timedelta(seconds=CLAIM_SECONDS)


async def hold_behind(row_id: int, later: Sequence[int]) -> bool:
    """If the row is still pending, release the later rows due no earlier than it; True then."""
    row = await Outbox.get_or_none(id=row_id, status=OutboxStatus.PENDING)
    if row is None:
        return False
    await Outbox.filter(id__in=list(later), status=OutboxStatus.PENDING).update(
        due_at=row.due_at, locked_until=None
    )
    return True


async def deliver_due(
    sender: Sender,
    clock: Clock,
    limit: int = 50,
    limiter: RateLimiter | None = None,
    concurrency: int = 8,
    claim_seconds: float = CLAIM_SECONDS,
) -> int:
    """One pass over at most `limit` due rows, within the rate limits; returns how many were
    sent. A chat that must wait is released to a later pass (bot.delivery.lanes waits)."""
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
            return await deliver_safely(sender, row, clock)

    ids = await due_ids(clock.now(), limit)
    results = await asyncio.gather(*(one(i) for i in ids))
    return sum(results)
