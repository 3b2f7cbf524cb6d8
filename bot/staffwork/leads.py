"""Lead life cycle: statuses move only along the funnel, and every move is an event row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from bot import raw_sql
from bot.crm import queue as crm_queue
from bot.models import Lead, LeadEvent, LeadStatus

_FORWARD = {
    LeadStatus.NEW: {LeadStatus.QUALIFIED, LeadStatus.CONFIRMED},
    LeadStatus.QUALIFIED: {LeadStatus.CONFIRMED},
    LeadStatus.CONFIRMED: {LeadStatus.CAME, LeadStatus.NO_SHOW, LeadStatus.QUALIFIED},
    LeadStatus.CAME: set(),
    LeadStatus.NO_SHOW: set(),
    LeadStatus.LOST: set(),
}
_CAN_BE_LOST = {LeadStatus.NEW, LeadStatus.QUALIFIED, LeadStatus.CONFIRMED}


class StatusError(ValueError):
    """The requested status change is not a step of the funnel."""


def can_move(current: LeadStatus, target: LeadStatus) -> bool:
    if target is LeadStatus.LOST:
        return current in _CAN_BE_LOST
    return target in _FORWARD[current]


async def lead_of(lead_id: int | None) -> Lead | None:
    """The lead a row points to, if it points to one (a prepared SELECT: every booking)."""
    return await raw_sql.by_id(Lead, lead_id) if lead_id else None


async def open_lead(
    *,
    channel: str,
    client_id: int | None,
    source: str | None,
    campaign: str | None,
    now: dt.datetime,
    actor: str = "client",
) -> Lead:
    lead = Lead(
        channel=channel,
        client_id=client_id,
        source=source,
        campaign=campaign,
        status=LeadStatus.NEW,
        created_at=now,
        updated_at=now,
    )
    # the lead and its first event in one round trip (SQLite), the event on the new id
    event = (INSERT_EVENT, _opening_event(now, actor))
    (((lead_id,),), _) = await raw_sql.fetch_each([raw_sql.insert_of(lead), event])
    raw_sql.inserted(lead, lead_id)
    await crm_queue.lead_opened(lead, now)  # in the caller's transaction, as the lead
    return lead


async def move_lead(
    lead: Lead,
    target: LeadStatus,
    *,
    actor: str,
    now: dt.datetime,
    note: str | None = None,
    also: Sequence[str] = (),
) -> None:
    """Change the status and record who did it; refuses moves outside the funnel. `also`:
    fields the caller changed in memory, saved by the same UPDATE (one round trip less)."""
    if lead.status == target:
        if also:
            await raw_sql.save_fields(lead, also)
        return
    if not can_move(lead.status, target):
        raise StatusError(f"lead {lead.id}: {lead.status} → {target} is not allowed")
    previous = lead.status
    lead.status = target
    lead.updated_at = now
    if target is LeadStatus.LOST:
        lead.lost_reason = note
    update = raw_sql.update_of(lead, ["status", "updated_at", "lost_reason", *also])
    event = (INSERT_EVENT, _event_values(lead.id, now, actor, previous, target, note))
    _, ((event_id,),) = await raw_sql.fetch_each([update, event])  # one round trip (SQLite)
    await crm_queue.status_moved(lead, target, actor=actor, event_id=event_id, now=now)


INSERT_EVENT = (
    'INSERT INTO "lead_event" ("lead_id", "at", "actor", "from_status", "to_status", "kind", '
    '"note") VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING "id"'
)


async def record_event(
    lead_id: int,
    now: dt.datetime,
    actor: str,
    previous: LeadStatus | None,
    target: LeadStatus,
    note: str | None = None,
    kind: str = "status",
) -> int:
    """A status move's event row in one prepared INSERT; its id."""
    values = _event_values(lead_id, now, actor, previous, target, note, kind)
    ((event_id,),) = await raw_sql.fetch(INSERT_EVENT, values)
    return event_id


def _opening_event(now: dt.datetime, actor: str) -> Callable[[list], tuple]:
    """A new lead's first event's values, on the id its INSERT (the statement before) gave."""
    return lambda rows: _event_values(rows[0][0][0], now, actor, None, LeadStatus.NEW)


def _event_values(
    lead_id: int,
    now: dt.datetime,
    actor: str,
    previous: LeadStatus | None,
    target: LeadStatus,
    note: str | None = None,
    kind: str = "status",
) -> tuple:
    """INSERT_EVENT's values."""
    before = previous and LeadStatus(previous).value
    return (lead_id, now, actor, before, LeadStatus(target).value, kind, note)


async def flag_for_human(lead: Lead, reason: str, now: dt.datetime) -> None:
    """The lead needs a person; recorded as an event, and the SLA clock starts."""
    lead.needs_human = True
    lead.handoff_reason = reason
    await wait_for_staff(lead, now)
    await lead.save(update_fields=["needs_human", "handoff_reason"])
    await LeadEvent.create(
        lead=lead,
        at=now,
        actor="bot",
        kind="handoff",
        note=reason,
        from_status=lead.status,
        to_status=lead.status,
    )


async def wait_for_staff(lead: Lead, now: dt.datetime) -> None:
    """Start the lead's SLA clock (once: a second request doesn't reset it)."""
    await lead.save(update_fields=mark_waiting(lead, now))


def mark_waiting(lead: Lead, now: dt.datetime) -> list[str]:
    """`wait_for_staff` in memory only; the fields the caller must save."""
    if lead.attention_at is None:
        lead.attention_at = now
    lead.updated_at = now
    return ["attention_at", "updated_at"]
