"""What channel adapters remember, behind one small store so they never touch the ORM:
who wrote and when (dedup receipts are committed with the step, bot/delivery/step_outbox.py), the
options last offered as numbered text, the channel's id of a sent row, and the delivery
statuses a channel reports later."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from bot import erasure
from bot.delivery.outbox import failed_after_send
from bot.models import ChannelMenu, DeliveryStatus, InboundMessage, Outbox
from bot.privacy import erased_id, log_id

log = logging.getLogger("priyom.channels")


class ChannelStore:
    """One channel's memory, keyed by its name."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def has_written(self, chat_id: str) -> bool:
        return await InboundMessage.exists(channel=self.channel, chat_id=chat_id)

    async def last_inbound(self, chat_id: str) -> dt.datetime | None:
        query = InboundMessage.filter(channel=self.channel, chat_id=chat_id)
        row = await query.order_by("-at").first()
        return row.at if row else None

    async def menu(self, chat_id: str) -> list[str]:
        row = await ChannelMenu.get_or_none(channel=self.channel, chat_id=chat_id)
        return list(row.actions) if row else []

    async def remember_menu(self, chat_id: str, actions: Sequence[str], now: dt.datetime) -> None:
        await ChannelMenu.update_or_create(
            channel=self.channel,
            chat_id=chat_id,
            defaults={"actions": list(actions), "at": now},
        )

    @staticmethod
    async def sent_as(row: Outbox, external_id: str | None) -> None:
        """The channel's own id of a sent row, to match its later delivery statuses."""
        await Outbox.filter(id=row.id).update(external_id=external_id or None)

    async def record_status(
        self, message_id: str, chat_id: str, status: str, error: str | None, now: dt.datetime
    ) -> None:
        """A delivery status; «failed» marks the row dead and tells staff. An erased
        client's late receipt is stored under the pseudonym, without the number."""
        alias = await erasure.alias_of(self.channel, chat_id)
        if alias is not None:
            await DeliveryStatus.update_or_create(
                channel=self.channel,
                external_id=erased_id(self.channel, message_id),
                defaults={"chat_id": alias, "status": status, "at": now},
            )
            return
        await DeliveryStatus.update_or_create(
            channel=self.channel,
            external_id=message_id,
            defaults={
                "chat_id": chat_id,
                "status": status,
                "error": (error or "")[:200] or None,
                "at": now,
            },
        )
        if status == "failed":  # it never arrived: staff must know
            reason = error or "failed"
            # the chat id may be a phone number: only its keyed hash goes to the log
            log.warning(
                "delivery_failed",
                extra={"channel": self.channel, "chat": log_id(chat_id), "error": reason},
            )
            await failed_after_send(self.channel, message_id, reason, now)
