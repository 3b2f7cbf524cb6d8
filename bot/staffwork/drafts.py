"""A staff member's unfinished multi-step action (a /book in progress, a schedule change
awaiting confirmation), kept in the database so a restart or another instance loses nothing.

It reuses the conversation table under the channel `staff:<what>`, keyed by the Telegram id.
"""

from __future__ import annotations

import datetime as dt

from bot.models import Conversation

TTL = dt.timedelta(minutes=30)  # an abandoned draft stops catching the person's messages


def _channel(what: str) -> str:
    return f"staff:{what}"[:16]


async def save(what: str, telegram_id: int, data: dict, now: dt.datetime) -> None:
    await Conversation.update_or_create(
        channel=_channel(what),
        chat_id=str(telegram_id),
        defaults={"state": data, "updated_at": now},
    )


async def load(what: str, telegram_id: int, now: dt.datetime) -> dict | None:
    """The draft, unless it was left for longer than TTL."""
    row = await Conversation.get_or_none(channel=_channel(what), chat_id=str(telegram_id))
    if row is None or not row.state or row.updated_at + TTL < now:
        return None
    return row.state


async def clear(what: str, telegram_id: int) -> bool:
    """Drop the draft; True only for the one caller that found it (two taps, one action)."""
    deleted = await Conversation.filter(channel=_channel(what), chat_id=str(telegram_id)).delete()
    return bool(deleted)
