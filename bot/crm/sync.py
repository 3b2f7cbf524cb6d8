"""Delivering the CRM sync queue: the head task of each lead, batched, retried with backoff.

Order per lead: only the oldest pending task of a lead (`order_key`) is ever sent, and a
failed one holds back the tasks behind it, so the CRM sees push → status → comment in the
order they happened. Idempotent: remote ids are stored in the transaction that marks a
task done; a task retried after a lost response tells the port so (`Job.retry`), and the
port looks the lead up before creating it. Any number of processes may run a pass: a task
is claimed with a conditional UPDATE first, as outbox rows are.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from tortoise.expressions import Q
from tortoise.functions import Min
from tortoise.transactions import in_transaction

from bot.clock import Clock
from bot.crm.models import CrmLink, CrmTask, TaskKind, TaskStatus
from bot.crm.port import CrmPort, CrmUnavailable, Job, LeadCard, Outcome
from bot.delivery.outbox import backoff_seconds
from bot.models import Client, IntakeReceipt, Lead, LeadStatus

log = logging.getLogger("priyom.crm")
CLAIM_SECONDS = 120  # longer than a pass's requests may take under the CRM's limits
PASS_SIZE = 200  # tasks per pass: a few batches, so a pass ends within seconds


def _unclaimed(now: dt.datetime) -> Q:
    return Q(locked_until__isnull=True) | Q(locked_until__lt=now)


async def heads(now: dt.datetime, limit: int = PASS_SIZE) -> list[int]:
    """Ids of due tasks that are the oldest pending task of their lead."""
    due = await (
        CrmTask.filter(_unclaimed(now), status=TaskStatus.PENDING, due_at__lte=now)
        .order_by("id")
        .limit(limit)
        .values("id", "order_key")
    )
    keys = {row["order_key"] for row in due}
    firsts = await (
        CrmTask.filter(status=TaskStatus.PENDING, order_key__in=keys)
        .group_by("order_key")
        .annotate(first=Min("id"))
        .values("order_key", "first")
    )
    first = {row["order_key"]: row["first"] for row in firsts}
    return [row["id"] for row in due if first.get(row["order_key"]) == row["id"]]


async def claim(ids: Sequence[int], now: dt.datetime) -> list[CrmTask]:
    until = now + dt.timedelta(seconds=CLAIM_SECONDS)
    claimed = []
    for task_id in ids:
        taken = await CrmTask.filter(_unclaimed(now), id=task_id, status=TaskStatus.PENDING).update(
            locked_until=until
        )
        if taken:
            claimed.append(task_id)
    return await CrmTask.filter(id__in=claimed).order_by("id")


async def sync_due(port: CrmPort, clock: Clock, limit: int = PASS_SIZE) -> int:
    """One pass: send what is due; returns how many tasks are done."""
    tasks = await claim(await heads(clock.now(), limit), clock.now())
    if not tasks:
        return 0
    jobs = [await _job(port.name, task) for task in tasks]
    try:
        outcomes = await port.deliver(jobs)
    except CrmUnavailable as exc:
        for task in tasks:
            await _retry(task, str(exc), clock.now(), exc.seconds)
        log.warning("crm_unavailable", extra={"tasks": len(tasks), "error": str(exc)[:200]})
        return 0
    by_id = {o.task_id: o for o in outcomes}
    done = 0
    for task in tasks:
        outcome = by_id.get(task.id) or Outcome(task.id, ok=False, error="no answer")
        done += await _record(port.name, task, outcome, clock.now())
    return done


async def _link(crm: str, kind: str, local_id: int | None) -> str | None:
    if local_id is None:
        return None
    link = await CrmLink.get_or_none(crm=crm, kind=kind, local_id=local_id)
    return link.remote_id if link else None


async def _job(crm: str, task: CrmTask) -> Job:
    lead = await Lead.get_or_none(id=task.lead_id) if task.lead_id is not None else None
    client_id = lead.client_id if lead is not None else task.client_id
    common = {
        "task_id": task.id,
        "kind": task.kind,
        "retry": task.attempts > 0,
        "remote_lead": await _link(crm, "lead", task.lead_id),
        "remote_contact": await _link(crm, "contact", client_id),
    }
    payload = task.payload or {}
    match task.kind:
        case TaskKind.PUSH:
            return Job(**common, card=await card_of(lead) if lead else None)
        case TaskKind.STATUS:
            return Job(**common, status=LeadStatus(payload["status"]) if payload else None)
        case TaskKind.COMMENT:
            return Job(**common, text=await _outcome_text(lead, payload) if payload else None)
        case _:
            return Job(**common)


async def card_of(lead: Lead) -> LeadCard:
    client = await Client.get_or_none(id=lead.client_id) if lead.client_id else None
    utm: dict[str, str] = {}
    for receipt in await IntakeReceipt.filter(lead_id=lead.id).order_by("id"):
        utm |= (receipt.details or {}).get("utm") or {}
    return LeadCard(
        lead_id=lead.id,
        client_id=lead.client_id,
        name=client.name if client else None,
        phone=client.phone if client else None,
        source=lead.source,
        campaign=lead.campaign,
        utm=utm,
        status=lead.status,
        summary=lead.ai_summary,
        created_at=lead.created_at,
    )


async def _outcome_text(lead: Lead | None, payload: dict) -> str:
    """The outcome, its reason and the dialogue's summary, as they are now (an erasure in
    between leaves only the outcome)."""
    parts = [f"Priyom: {payload['status']}"]
    if lead is not None and lead.lost_reason and payload["status"] == LeadStatus.LOST:
        parts.append(lead.lost_reason)
    if lead is not None and lead.ai_summary:
        parts.append(lead.ai_summary)
    return "\n".join(parts)


async def _record(crm: str, task: CrmTask, outcome: Outcome, now: dt.datetime) -> int:
    if not outcome.ok and not outcome.permanent:
        await _retry(task, outcome.error or "failed", now)
        return 0
    async with in_transaction():
        await _store_link(crm, "lead", task.lead_id, outcome.remote_lead, now)
        client_id = task.client_id
        if client_id is None and task.lead_id is not None:
            lead = await Lead.get_or_none(id=task.lead_id)
            client_id = lead.client_id if lead else None
        await _store_link(crm, "contact", client_id, outcome.remote_contact, now)
        status = TaskStatus.DONE if outcome.ok else TaskStatus.DEAD
        await CrmTask.filter(id=task.id).update(
            status=status,
            done_at=now,
            locked_until=None,
            attempts=task.attempts + 1,
            error=(outcome.error or "")[:200] or None,
        )
    if not outcome.ok:
        log.warning("crm_task_dead", extra={"task": task.id, "lead": task.lead_id})
    return int(outcome.ok)


async def _store_link(
    crm: str, kind: str, local_id: int | None, remote_id: str | None, now: dt.datetime
) -> None:
    if local_id is None or not remote_id:
        return
    await CrmLink.update_or_create(
        defaults={"remote_id": remote_id, "created_at": now},
        crm=crm,
        kind=kind,
        local_id=local_id,
    )


async def _retry(task: CrmTask, error: str, now: dt.datetime, seconds: float = 0) -> None:
    """Back off (capped, jittered as the outbox does), and hold the lead's later tasks
    behind this one, so they never overtake it."""
    attempts = task.attempts + 1
    wait = seconds if seconds > 0 else backoff_seconds(attempts, task.id)
    due = now + dt.timedelta(seconds=wait)
    async with in_transaction():
        await CrmTask.filter(id=task.id).update(
            attempts=attempts,
            error=error[:200],
            locked_until=None,
            due_at=due,
            failing_since=task.failing_since or now,
        )
        await CrmTask.filter(
            order_key=task.order_key, status=TaskStatus.PENDING, id__gt=task.id, due_at__lt=due
        ).update(due_at=due)


async def failing_since(now: dt.datetime) -> dt.datetime | None:
    """Since when the oldest still-failing task has been failing (None: sync is healthy)."""
    row = (
        await CrmTask.filter(status=TaskStatus.PENDING, failing_since__isnull=False)
        .order_by("failing_since")
        .first()
    )
    return row.failing_since if row else None
