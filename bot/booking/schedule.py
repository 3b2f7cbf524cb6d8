"""Changing a master's time: overrides on top of the TOML schedule, checked and audited.

The slot engine reads the overrides in one place (`bot.booking.slots.working_spans`, fed by
`Booker.changes`). Here a change is validated (a polite, specific refusal for each bad
input), authorized (masters their own time, owners and managers anyone's), stored with an
audit row in one transaction, and undone the same way. The visits a change displaces are
read AFTER its commit: a client booking that committed first is then seen here, and one that
commits later sees the override itself (`Booker.book`), so no overlap is ever silent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from bot.booking import waitlist
from bot.booking.booker import Booker
from bot.clock import FixedClock
from bot.config import GRID_MINUTES, BusinessConfig
from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, StaffMember, StaffRole
from bot.schedule_models import OverrideKind, ScheduleAudit, ScheduleOverride
from bot.staffwork.access import Refused

MAX_SPAN = dt.timedelta(days=366)  # a vacation of more than a year is a typo


class ScheduleRefused(Refused):
    key = "schedule.refused"


class InPast(ScheduleRefused):
    key = "schedule.in_past"


class EndsBeforeStart(ScheduleRefused):
    key = "schedule.ends_before_start"


class OffGrid(ScheduleRefused):
    key = "schedule.off_grid"


class TooLong(ScheduleRefused):
    key = "schedule.too_long"


class NotYourTime(ScheduleRefused):
    key = "schedule.not_your_time"


class UnknownMaster(ScheduleRefused):
    key = "schedule.no_such_master"


class UnknownOverride(ScheduleRefused):
    key = "schedule.unknown_override"


@dataclass(frozen=True)
class Change:
    """A requested override, before it is stored."""

    master_id: str
    kind: OverrideKind
    start: dt.datetime  # aware
    end: dt.datetime
    reason: str | None = None

    @property
    def removes(self) -> bool:
        return self.kind is not OverrideKind.EXTRA_SHIFT


def validate(config: BusinessConfig, change: Change, now: dt.datetime) -> None:
    """Refuse what cannot be meant: unknown master, reversed or huge ranges, times off the
    5-minute grid, and a change that is over already."""
    if config.master(change.master_id) is None:
        raise UnknownMaster(master=change.master_id)
    if change.end <= change.start:
        raise EndsBeforeStart()
    if change.end - change.start > MAX_SPAN:
        raise TooLong(days=MAX_SPAN.days)
    for moment in (change.start, change.end):
        local = moment.astimezone(config.tz)
        if local.second or local.microsecond or local.minute % GRID_MINUTES:
            raise OffGrid(grid=GRID_MINUTES)
    if change.end <= now:
        raise InPast()


def authorize(role: StaffRole, member: StaffMember | None, master_id: str) -> None:
    """Masters change only their own time; owners and managers anyone's."""
    if role is StaffRole.MASTER and (member is None or member.master_id != master_id):
        raise NotYourTime()


async def affected(master_id: str, start: dt.datetime, end: dt.datetime) -> list[Appointment]:
    """Active visits of the master that meet [start, end), in time order."""
    return (
        await Appointment.filter(
            master_id=master_id,
            status__in=ACTIVE_APPOINTMENT_STATUSES,
            start__lt=end,
            end__gt=start,
        )
        .order_by("start")
        .all()
    )


async def preview(
    config: BusinessConfig,
    change: Change,
    role: StaffRole,
    member: StaffMember | None,
    now: dt.datetime,
) -> list[Appointment]:
    """Check the change and list the visits it would displace (nothing is stored)."""
    validate(config, change, now)
    authorize(role, member, change.master_id)
    if not change.removes:
        return []
    return await affected(change.master_id, change.start, change.end)


async def add_override(
    config: BusinessConfig,
    change: Change,
    actor_id: int,
    role: StaffRole,
    member: StaffMember | None,
    now: dt.datetime,
) -> tuple[ScheduleOverride, list[Appointment]]:
    """Store the change with its audit row; return it and the visits it displaced, read after
    the commit (see the module doc)."""
    validate(config, change, now)
    authorize(role, member, change.master_id)
    async with in_transaction():
        row = await ScheduleOverride.create(
            master_id=change.master_id,
            kind=change.kind,
            start=change.start,
            end=change.end,
            reason=change.reason,
            created_by=actor_id,
            created_at=now,
        )
        await _audit(row.id, "add", actor_id, now, None, describe(row))
        if not change.removes:  # an extra shift: new time for the waitlist
            await _freed(config, row, now)
    if not change.removes:
        return row, []
    return row, await affected(change.master_id, change.start, change.end)


async def undo_override(
    override_id: int,
    actor_id: int,
    role: StaffRole,
    member: StaffMember | None,
    now: dt.datetime,
    *,
    config: BusinessConfig,
) -> ScheduleOverride:
    """Undo an active override (the row stays, marked, for the audit); a conditional UPDATE,
    so two undos of one row record one change."""
    row = await ScheduleOverride.get_or_none(id=override_id)
    if row is None:
        raise UnknownOverride(id=override_id)
    authorize(role, member, row.master_id)
    async with in_transaction():
        done = await ScheduleOverride.filter(id=override_id, undone_at__isnull=True).update(
            undone_at=now, undone_by=actor_id
        )
        if not done:
            raise UnknownOverride(id=override_id)
        before = describe(row)
        await row.refresh_from_db()
        await _audit(row.id, "undo", actor_id, now, before, describe(row))
        if row.kind is not OverrideKind.EXTRA_SHIFT:
            await _freed(config, row, now)  # time off undone: the time is free again
    return row


async def _freed(config: BusinessConfig, row: ScheduleOverride, now: dt.datetime) -> None:
    """The waitlist hook (bot/booking/waitlist.py), in the change's transaction."""
    booker = Booker(config, FixedClock(now))
    await waitlist.slot_freed(booker, row.master_id, row.start, row.end, now)


async def active_overrides(master_ids: list[str], since: dt.datetime) -> list[ScheduleOverride]:
    return (
        await ScheduleOverride.filter(
            master_id__in=master_ids, undone_at__isnull=True, end__gt=since
        )
        .order_by("start")
        .all()
    )


def describe(row: ScheduleOverride) -> dict:
    """An override as the audit stores it."""
    return {
        "master_id": row.master_id,
        "kind": str(row.kind),
        "start": row.start.isoformat(),
        "end": row.end.isoformat(),
        "reason": row.reason,
        "undone_at": row.undone_at.isoformat() if row.undone_at else None,
    }


async def _audit(
    override_id: int, action: str, actor_id: int, now: dt.datetime, before, after
) -> None:
    await ScheduleAudit.create(
        override_id=override_id,
        action=action,
        actor=f"staff:{actor_id}",
        at=now,
        before=before,
        after=after,
    )
