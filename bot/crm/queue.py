"""Writing the CRM sync queue: one row per change, in the transaction of the change.

Like the outbox (bot/delivery/outbox.py): a unique dedup key per change, so a retried
change queues nothing twice and a rolled-back one queues nothing. Rows name ids and
statuses, never the client's name or phone: the push reads those when it is sent.
Nothing is queued while no CRM is configured (`activate`, called at start from settings).
"""

from __future__ import annotations

import datetime as dt

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.crm.models import CrmTask, TaskKind
from bot.crm.port import CRM_ACTOR
from bot.models import Lead, LeadStatus

OUTCOMES = (LeadStatus.CAME, LeadStatus.NO_SHOW, LeadStatus.LOST)
"""Statuses that close a lead: each also becomes a comment on the CRM lead's timeline."""

_active: str | None = None


def activate(crm: str | None) -> None:
    """Which CRM the changes go to ("bitrix24", "amocrm"), or None: no queue at all."""
    global _active
    _active = crm or None


def active() -> str | None:
    return _active


async def _add(
    kind: TaskKind,
    key: str,
    now: dt.datetime,
    *,
    lead_id: int | None = None,
    client_id: int | None = None,
    payload: dict | None = None,
) -> CrmTask | None:
    if _active is None:
        return None
    order = f"lead:{lead_id}" if lead_id is not None else f"client:{client_id}"
    try:
        async with in_transaction():  # a savepoint inside the caller's transaction
            return await CrmTask.create(
                crm=_active,
                kind=kind,
                lead_id=lead_id,
                client_id=client_id,
                order_key=order,
                payload=payload or {},
                dedup_key=f"{_active}:{key}",
                due_at=now,
                created_at=now,
            )
    except IntegrityError:
        return None


async def lead_opened(lead: Lead, now: dt.datetime) -> CrmTask | None:
    """A new lead: pushed with its contact (the data as it is when the push is sent)."""
    return await _add(TaskKind.PUSH, f"push:{lead.id}", now, lead_id=lead.id)


async def repush(lead_id: int, now: dt.datetime, reason: str) -> CrmTask | None:
    """Reconciliation: push a lead again that the CRM lacks (`crm sync`)."""
    return await _add(TaskKind.PUSH, f"push:{lead_id}:{reason}", now, lead_id=lead_id)


async def status_moved(
    lead: Lead, target: LeadStatus, *, actor: str, event_id: int, now: dt.datetime
) -> None:
    """A status change made in the bot; an outcome also goes to the timeline. A change
    that came from the CRM is not sent back to it."""
    if actor == CRM_ACTOR:
        return
    status = {"status": target.value}
    await _add(TaskKind.STATUS, f"status:{event_id}", now, lead_id=lead.id, payload=status)
    if target in OUTCOMES:
        await _add(TaskKind.COMMENT, f"outcome:{event_id}", now, lead_id=lead.id, payload=status)


async def client_forgotten(client_id: int | None, leads: list[int], now: dt.datetime) -> None:
    """/forget: queued comments about the client lose their text and are not sent (status
    rows hold a status value only, and still go), each of their CRM leads loses the dialogue
    summary, and the CRM's contact is deleted or anonymised — tasks of their own, each in
    its lead's order (the contact's after them)."""
    comments = CrmTask.filter(lead_id__in=leads, kind=TaskKind.COMMENT)
    await comments.update(payload={})
    await comments.filter(status="pending").update(
        status="skipped", error="erased at the client's request"
    )
    stamp = now.isoformat()
    for lead_id in leads:
        await _add(TaskKind.FORGET, f"forget:lead:{lead_id}:{stamp}", now, lead_id=lead_id)
    if client_id is not None:
        await _add(TaskKind.FORGET, f"forget:{client_id}:{stamp}", now, client_id=client_id)
