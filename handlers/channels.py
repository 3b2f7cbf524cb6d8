"""One outbox sender for every channel: staff rows go to the staff bot (Telegram), client
rows to the client's own channel, so reminders and relays reach people where they wrote."""

from __future__ import annotations

from collections.abc import Mapping

from bot.models import Outbox
from bot.outbox import Sender, Undeliverable


class ChannelSender:
    def __init__(self, telegram: Sender, others: Mapping[str, Sender] | None = None) -> None:
        self.telegram = telegram
        self.others = dict(others or {})

    async def send(self, row: Outbox) -> int | None:
        if row.bot == "staff" or row.channel == "telegram":
            return await self.telegram.send(row)
        sender = self.others.get(row.channel)
        if sender is None:
            raise Undeliverable(f"the {row.channel} channel is not configured")
        return await sender.send(row)
