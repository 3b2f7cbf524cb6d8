"""Staff bot: an update Telegram delivers again after it was handled is not handled twice.

Telegram delivers an update again when its acknowledgement was lost (a webhook's 200, a
poller's next offset). The update's receipt is pending while its handler runs
(bot.staffwork.receipt): an action that must not happen twice commits it in its own
transaction, so a process killed right after that commit leaves it behind. Those are a
typed amount or lost reason (whose redelivery, the question used up, would be relayed to
the client), a catalog value, an /invite link and a call back's outcome. Other updates
(read-only commands, actions safe to repeat: a claim is a conditional update, a relay and a
staff card have dedup keys) are recorded once the handler returned; a failed one records
nothing, so its redelivery runs. A redelivery that finds the receipt is skipped; one racing
another instance's commit of the same update is rolled back by the receipt's unique key
(AlreadyHandled).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.types import Update

from bot.delivery.step_outbox import record_receipt, seen
from bot.staffwork.receipt import AlreadyHandled, pending
from handlers.telegram import CHANNEL, receipt_of

log = logging.getLogger("priyom.staff")
Handler = Callable[[Update, dict[str, Any]], Awaitable[Any]]


async def once(handler: Handler, update: Update, data: dict[str, Any]) -> Any:
    """The dispatcher's outer middleware: a seen update is skipped, a handled one recorded
    (by the transaction of its change, else here after the handler)."""
    bot: Bot = data["bot"]
    receipt = receipt_of(bot, update)
    if await seen(CHANNEL, receipt):
        return _duplicate(receipt)
    user = getattr(update.event, "from_user", None)  # a staff bot's chats are private
    chat, now = str(user.id if user else ""), data["staff"].clock.now()
    with pending(CHANNEL, chat, receipt, now) as receipt_of_update:
        try:
            result = await handler(update, data)
        except AlreadyHandled:
            return _duplicate(receipt)
    if not receipt_of_update.taken:
        await record_receipt(CHANNEL, chat, receipt, now)
    return result


def _duplicate(receipt: str) -> None:
    log.info("duplicate_delivery", extra={"bot": "staff", "delivery": receipt})
