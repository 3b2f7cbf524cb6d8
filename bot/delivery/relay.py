"""A manager's words to a client, on the client's own channel, always through the outbox:
queued with a dedup key, logged, and sent right after (`deliver_now`); a channel that is
down leaves the row to the timed delivery, which keeps the channel's rules (WhatsApp's
24-hour window). A file goes only where the channel can pass that kind on."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from bot.clock import Clock
from bot.delivery.channel import CLIENT_BOT, ChannelSet
from bot.delivery.outbox import Message, claim, deliver_now, enqueue
from bot.models import Lead
from bot.staffwork.desk import log_relay
from bot.staffwork.lead_actions import client_chat

log = logging.getLogger("priyom.relay")


@dataclass(frozen=True)
class StaffWords:
    staff_id: int
    text: str
    kind: str  # "text", "photo", "document", … as the staff bot received it
    attachment: str = ""  # `<staff channel>/<kind>:<file id>`, read back through that channel
    dedup_key: str = ""  # the staff message, so a redelivered update relays once


class Relayed(enum.Enum):
    SENT = "sent"
    TEXT_ONLY = "text_only"  # the channel cannot take the file: only the caption went
    NO_DIALOG = "no_dialog"  # the client is gone (erased) or their channel is off


async def relay_to_client(
    channels: ChannelSet, lead: Lead, words: StaffWords, clock: Clock
) -> tuple[Relayed, str]:
    """(what happened, the client's channel)."""
    chat = await client_chat(lead)
    if chat is None or chat[0] not in channels:
        return Relayed.NO_DIALOG, chat[0] if chat else ""
    name, chat_id = chat
    kind = words.attachment.partition("/")[2].partition(":")[0]
    passes = bool(words.attachment) and kind in channels[name].media
    photo = words.attachment if passes else None
    now = clock.now()
    if words.text or photo:
        row = await enqueue(
            bot=CLIENT_BOT,
            channel=name,
            chat_id=chat_id,
            kind="relay",
            message=Message(words.text, photo=photo),
            dedup_key=words.dedup_key,
            now=now,
            lead_id=lead.id,
        )
        logged = f"[{words.kind}] {words.text}".strip() if photo else words.text
        await log_relay(lead, chat, words.staff_id, words.kind, logged, now)
        log.info("relayed_to_client", extra={"lead": lead.id, "staff": words.staff_id})
        claimed = row and await claim(row.id, now)  # no tick sends it meanwhile
        if claimed:
            await deliver_now([claimed], channels, clock)
    dropped = bool(words.attachment) and not passes
    return (Relayed.TEXT_ONLY if dropped else Relayed.SENT), name
