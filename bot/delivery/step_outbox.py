"""A dialogue step's receipt and its queued replies, committed in the step's transaction.

A webhook platform redelivers a message until it gets a 200, so its id is recorded in the
same transaction as the state change it causes: a step that fails leaves no trace and the
redelivery is processed; a step that committed makes every redelivery a no-op. Replies
that must survive a crash after the commit (all of a webhook channel's, and on every
channel the ones a state change caused, e.g. a booking's confirmation) are written to the
outbox in that transaction and sent right after it (bot.delivery.outbox.deliver_now).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError

from bot import raw_sql
from bot.db_sqlite import ImmediateClient
from bot.delivery.outbox import Message, claimed_until
from bot.delivery.outbox_rows import ERASED_AS, insert_sql, row_values
from bot.models import Conversation, InboundMessage, Outbox, OutboxStatus
from scenarios.types import Reply

log = logging.getLogger("priyom.dialog")
REPLY_KIND = "reply"
RECEIPT_RETENTION = dt.timedelta(days=3)  # Telegram gives up on an update after 24 hours
PRUNE_BATCH = 2000  # rows per DELETE: SQLite's write lock is held for one batch at a time
SEEN = 'SELECT 1 FROM "inbound_message" WHERE "channel" = ? AND "message_id" = ?'


@dataclass
class StepResult:
    replies: list[Reply]  # everything the step answered, in order
    direct: list[Reply] = field(default_factory=list)  # for the adapter to send itself
    queued: list[Outbox] = field(default_factory=list)  # outbox rows, sent after the commit


async def seen(channel: str, receipt: str) -> bool:
    """A look before a step's effects run (the insert in its commit is what decides:
    bot.dialog_store). On SQLite in the loop's thread, without a round trip."""
    client = raw_sql.current_client()
    if isinstance(client, ImmediateClient):
        rows = client.read_now(SEEN, (channel, receipt))
        if rows is not None:
            return bool(rows)
    return await InboundMessage.exists(channel=channel, message_id=receipt)


async def record_receipt(channel: str, chat_id: str, receipt: str, now: dt.datetime) -> bool:
    """A receipt recorded on its own, where no step's transaction can take it (the staff
    bot: admin_bot.receipts). False: it was there already."""
    try:
        await InboundMessage.create(channel=channel, chat_id=chat_id, message_id=receipt, at=now)
    except IntegrityError:
        return False
    return True


# A receipt goes once it is past the retention and older than its chat's newest: each
# chat's newest stays, whatever its age (what ChannelStore.has_written and .last_inbound
# read; rows of that same instant stay with it). The max() is one seek backwards in
# idx_inbound_message_chat_at per old row, on SQLite and PostgreSQL alike.
PRUNE = """
DELETE FROM "inbound_message" WHERE "id" IN (
    SELECT "id" FROM "inbound_message" AS old
    WHERE old."at" < ? AND old."at" < (
        SELECT max(newer."at") FROM "inbound_message" AS newer
        WHERE newer."channel" = old."channel" AND newer."chat_id" = old."chat_id"
    )
    LIMIT ?
)"""


async def prune_receipts(now: dt.datetime, batch: int = PRUNE_BATCH) -> int:
    """Receipts past any redelivery (Telegram keeps an update 24 hours), of every channel,
    except each chat's newest: a channel may read who wrote first and when last (WhatsApp's
    first contact and 24-hour window), and that one row answers both. One statement per
    batch, each committed alone."""
    cutoff, pruned = now - RECEIPT_RETENTION, 0
    while True:
        done = await raw_sql.execute(PRUNE, (cutoff, batch))
        pruned += done
        if done < batch:
            return pruned


def log_redelivery(channel: str, receipt: str) -> None:
    # `delivery`, not `message`: LogRecord's own attribute names raise KeyError in extra.
    log.info("duplicate_delivery", extra={"channel": channel, "delivery": receipt})


def reply_message(reply: Reply) -> Message:
    """A reply as an outbox message; link buttons keep their place as (text, "", url)."""
    rows = tuple(
        tuple((b.text, "", b.url) if b.url else (b.text, b.action) for b in row)
        for row in reply.buttons
    )
    return Message(reply.text, rows, ask_contact=reply.ask_contact)


async def queue_replies(
    conv: Conversation, replies: Sequence[Reply], now: dt.datetime, address: str
) -> list[Outbox]:
    """Write the replies to the outbox, claimed by this process for sending after the commit.

    The key is the conversation's version, which only one step can commit: an
    IntegrityError here means another process saved this version first (a stale step).
    `address` is the chat the client wrote from; when this very step erased the chat
    (/forget), the conversation already holds its pseudonym, so the last answer still
    goes to the real chat and the row takes the pseudonym once it is sent (`ERASED_AS`)."""
    if not replies:
        return []
    rows = []
    for index, reply in enumerate(replies):
        payload = reply_message(reply).payload()
        if address != conv.chat_id:
            payload[ERASED_AS] = conv.chat_id
        row = Outbox.construct(  # tortoise's init without its checks: half the cost
            bot="client",
            channel=conv.channel,
            chat_id=address,
            kind=REPLY_KIND,
            payload=payload,
            dedup_key=f"{REPLY_KIND}:{conv.id}:{conv.version}:{index}",
            lead_id=conv.lead_id,
            status=OutboxStatus.PENDING,
            attempts=0,
            due_at=now,
            created_at=now,
            locked_until=claimed_until(now),
        )
        rows.append(row)
    await _insert(rows)
    return rows


async def _insert(rows: Sequence[Outbox]) -> None:
    """All the step's replies in one prepared INSERT (a clash of keys: IntegrityError)."""
    written = await raw_sql.fetch(insert_sql(len(rows)), row_values(rows))
    ids = {key: row_id for row_id, key in written}
    for row in rows:
        row.id = ids[row.dedup_key]
        row._saved_in_db = True  # as Outbox.create leaves it
