"""What the schedule views and the calendar feed read: visits and blocked time per master.

`blocks_for` is the one seam to the masters' time overrides (days off, sick days, lunch
blocks), which live in another module's table: until that is wired, there are none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from icalendar import Event

from bot.config import BusinessConfig, Interval, Master
from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, AppointmentStatus
from bot.numbers.day_grid import Box, Column
from bot.schedule_models import OverrideKind, ScheduleOverride


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
    """Blocked time of these masters overlapping [start, end): every active override that
    takes time away (a block, a day off, a sick day, a vacation; not an extra shift)."""
    rows = await ScheduleOverride.filter(
        master_id__in=list(master_ids),
        undone_at__isnull=True,
        start__lt=end,
        end__gt=start,
    ).exclude(kind=OverrideKind.EXTRA_SHIFT)
    return [Block(r.id, r.master_id, r.start, r.end, r.reason or "") for r in rows]


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


@dataclass(frozen=True)
class DayPlan:
    """One master's local day: working hours, visits and blocks."""

    day: dt.date
    hours: list[Interval]
    visits: list[Appointment]
    blocks: list[Block]


def local_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def first_name(appointment: Appointment) -> str:
    """The client's first name only (never the phone): what a schedule needs to show."""
    client = appointment.client if appointment.client_id else None
    return ((client.name if client else None) or "").split(" ")[0]


async def week_of(
    config: BusinessConfig, master: Master, first: dt.date, days: int = 7
) -> list[DayPlan]:
    """The master's days from `first`: two queries for the whole range, split per day."""
    since, _ = local_bounds(first, config.tz)
    _, until = local_bounds(first + dt.timedelta(days=days - 1), config.tz)
    visits = await visits_for([master.id], since, until)
    blocks = await blocks_for([master.id], since, until)
    plans = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        start, end = local_bounds(day, config.tz)
        plans.append(
            DayPlan(
                day,
                config.master_hours(master, day),
                [v for v in visits if v.start < end and v.end > start],
                [b for b in blocks if b.start < end and b.end > start],
            )
        )
    return plans


def _minutes(moment: dt.datetime, day: dt.date, tz: dt.tzinfo) -> int:
    local = moment.astimezone(tz)
    if local.date() < day:
        return 0
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


async def day_columns(
    config: BusinessConfig, masters: Sequence[Master], day: dt.date, block_label: str
) -> list[Column]:
    """The /today grid's columns: each master's hours, visits and blocks in local minutes."""
    tz, (since, until) = config.tz, local_bounds(day, config.tz)
    ids = [m.id for m in masters]
    visits = await visits_for(ids, since, until)
    blocks = await blocks_for(ids, since, until)
    columns = {
        m.id: Column(m.name, [(i.start_minute, i.end_minute) for i in config.master_hours(m, day)])
        for m in masters
    }
    for v in visits:
        service = config.service(v.service_id)
        label = f"{v.start.astimezone(tz):%H:%M} {service.title if service else v.service_id}"
        name = first_name(v)
        kind = "pending" if v.status is AppointmentStatus.PENDING else "visit"
        box = Box(
            _minutes(v.start, day, tz), _minutes(v.end, day, tz), f"{label}\n{name}".strip(), kind
        )
        columns[v.master_id].boxes.append(box)
    for b in blocks:
        box = Box(
            _minutes(b.start, day, tz), _minutes(b.end, day, tz), b.title or block_label, "block"
        )
        columns[b.master_id].boxes.append(box)
    return list(columns.values())
