"""What the schedule views and the calendar feed read: visits and blocked time per master.

`blocks_for` is the one seam to the masters' time overrides (days off, sick days, lunch
blocks), which live in another module's table: until that is wired, there are none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from icalendar import Event

from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment


@dataclass(frozen=True)
class Block:
    """A master's time nobody may book (a lunch, a sick day), as UTC instants."""

    id: int
    master_id: str
    start: dt.datetime
    end: dt.datetime
    title: str = ""

    def as_event(self, now: dt.datetime) -> Event:
        event = Event()
        event.add("uid", f"block-{self.id}@priyom")
        event.add("dtstamp", now)
        event.add("dtstart", self.start)
        event.add("dtend", self.end)
        event.add("summary", self.title or "—")
        event.add("transp", "OPAQUE")
        return event


async def blocks_for(
    master_ids: Sequence[str], start: dt.datetime, end: dt.datetime
) -> list[Block]:
    """Blocked time of these masters overlapping [start, end). A stub until the overrides
    table (schedule_override) is merged: wire it here, and every view shows blocks."""
    return []


async def visits_for(
    master_ids: Sequence[str], start: dt.datetime, end: dt.datetime
) -> list[Appointment]:
    """Active visits of these masters overlapping [start, end), with their clients."""
    return (
        await Appointment.filter(
            master_id__in=list(master_ids),
            status__in=ACTIVE_APPOINTMENT_STATUSES,
            start__lt=end,
            end__gt=start,
        )
        .select_related("client")
        .order_by("start", "id")
    )
