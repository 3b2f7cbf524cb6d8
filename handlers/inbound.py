"""What the webhook channels share: a message id is handled once, however often the
platform delivers it (WhatsApp and MAX both redeliver until they get a 200); secrets are
compared in constant time; a queued outbox payload reads back as a scenario reply."""

from __future__ import annotations

import datetime as dt
import hmac
import logging

from tortoise.exceptions import IntegrityError

from bot.models import InboundMessage
from scenarios.types import Button, Reply

log = logging.getLogger("priyom.inbound")


async def first_delivery(channel: str, chat_id: str, message_id: str, now: dt.datetime) -> bool:
    """Record the message id; False when it was recorded before (a redelivery)."""
    try:
        await InboundMessage.create(channel=channel, chat_id=chat_id, message_id=message_id, at=now)
    except IntegrityError:
        log.info("duplicate_delivery", extra={"channel": channel, "message_id": message_id})
        return False
    return True


def same_secret(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so the secret cannot be guessed byte by byte."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def queued_reply(payload: dict) -> Reply:
    """An outbox payload ({"text", "buttons": [[[text, action], …], …]}) as a Reply."""
    buttons = tuple(
        tuple(Button(text, action) for text, action in line)
        for line in payload.get("buttons") or []
    )
    return Reply(payload["text"], buttons)
