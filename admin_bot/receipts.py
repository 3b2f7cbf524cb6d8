"""Staff bot: an update Telegram delivers again after it was handled is not handled twice.

Telegram delivers an update again when its acknowledgement was lost (a webhook's 200, a
poller's next offset). Many staff actions are safe to repeat (a claim is a conditional
update, a relay and a staff card have dedup keys, an outcome is recorded once), but not
all: a typed amount or a catalog value answers a question that the first delivery used
up, so its redelivery would be relayed to the client whose dialogue is open; read-only
commands answer twice. Unlike a client's step (bot.dialogs), a staff action commits in
transactions of its own, so the receipt cannot join them: it is recorded right after the
handler returns (a failed one records nothing, so its redelivery runs). What remains
open is a process killed between the handler's commit and that insert.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.types import Update

from bot.delivery.step_outbox import record_receipt, seen
from handlers.telegram import CHANNEL, receipt_of

log = logging.getLogger("priyom.staff")
Handler = Callable[[Update, dict[str, Any]], Awaitable[Any]]


async def once(handler: Handler, update: Update, data: dict[str, Any]) -> Any:
    """The dispatcher's outer middleware: a seen update is skipped, a handled one recorded."""
    bot: Bot = data["bot"]
    receipt = receipt_of(bot, update)
    if await seen(CHANNEL, receipt):
        log.info("duplicate_delivery", extra={"bot": "staff", "delivery": receipt})
        return None
    result = await handler(update, data)
    user = getattr(update.event, "from_user", None)  # a staff bot's chats are private
    await record_receipt(CHANNEL, str(user.id if user else ""), receipt, data["staff"].clock.now())
    return result
