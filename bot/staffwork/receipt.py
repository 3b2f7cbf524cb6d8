"""A staff update's receipt, committed in the transaction of the change the update caused.

Telegram delivers an update again when its acknowledgement was lost, maybe to another
instance. The staff bot's outer middleware (admin_bot.receipts) makes the update's receipt
pending for its handler. A staff service whose change must not happen twice (a typed answer
to a pending question, a catalog value, an invite, a call back's outcome) opens its write
transaction with `write_transaction()`, whose first row is that receipt. A process killed
after that commit leaves the receipt behind, so the redelivery is skipped; one that lost the
race to another delivery of the same update hits the receipt's unique key, its change rolls
back and `AlreadyHandled` says so. An update no such transaction took (a read-only command,
an action idempotent on its own) is recorded by the middleware once its handler returned.

Opt-in, not every transaction: a handler that commits twice would have its receipt taken by
the first, and a crash before the second would lose it for good.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.models import InboundMessage


@dataclass
class Pending:
    """The receipt of the update being handled; `taken` once a transaction wrote it."""

    channel: str
    chat_id: str
    receipt: str
    at: dt.datetime
    taken: bool = False


class AlreadyHandled(Exception):
    """Another delivery of this update committed its change first: this one rolled back."""


_PENDING: ContextVar[Pending | None] = ContextVar("staff_receipt", default=None)


@contextlib.contextmanager
def pending(channel: str, chat_id: str, receipt: str, at: dt.datetime) -> Iterator[Pending]:
    """The update's receipt, for a write transaction within this block to take."""
    item = Pending(channel, chat_id, receipt, at)
    token = _PENDING.set(item)
    try:
        yield item
    finally:
        _PENDING.reset(token)


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """A transaction that commits the pending update's receipt with the change (as its first
    row); a plain one when none is pending or another transaction took it already."""
    item = _PENDING.get()
    if item is None or item.taken:
        async with in_transaction() as connection:
            yield connection
        return
    item.taken = True
    try:
        async with in_transaction() as connection:
            await _insert(item)
            yield connection
    except BaseException:
        item.taken = False  # rolled back: the middleware records it if the handler returns
        raise


async def _insert(item: Pending) -> None:
    try:
        await InboundMessage.create(
            channel=item.channel, chat_id=item.chat_id, message_id=item.receipt, at=item.at
        )
    except IntegrityError as exc:
        raise AlreadyHandled(item.receipt) from exc
