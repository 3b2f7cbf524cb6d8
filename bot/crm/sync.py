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
import secrets
from collections.abc import Sequence

from tortoise.expressions import F, Q
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
    """Take the tasks in one UPDATE; the claim's moment carries random microseconds, so the
    rows this claimer got are told apart from another claimer's of the same second."""
    until = now + dt.timedelta(seconds=CLAIM_SECONDS, microseconds=secrets.randbelow(10**6))
    await CrmTask.filter(_unclaimed(now), id__in=list(ids), status=TaskStatus.PENDING).update(
        locked_until=until
    )
    return await CrmTask.filter(id__in=list(ids), locked_until=until).order_by("id")


async def sync_due(port: CrmPort, clock: Clock, limit: int = PASS_SIZE) -> int:
    """One pass: send what is due; returns how many tasks are done."""
    tasks = await claim(await heads(clock.now(), limit), clock.now())
    if not tasks:
        return 0
    jobs = await _jobs(port.name, tasks)
    try:
        outcomes = await port.deliver(jobs)
    except CrmUnavailable as exc:
        for task in tasks:
            await _retry(task, str(exc), clock.now(), exc.seconds)
        log.warning("crm_unavailable", extra={"tasks": len(tasks), "error": str(exc)[:200]})
        return 0
    except Exception as exc:  # an adapter bug: back off like a failure, never spin on it
        for task in tasks:
            await _retry(task, f"unexpected: {exc!r}", clock.now())
        log.exception("crm_sync_failed", extra={"tasks": len(tasks)})
        return 0
    by_id = {o.task_id: o for o in outcomes}
    results = [by_id.get(t.id) or Outcome(t.id, ok=False, error="no answer") for t in tasks]
    return await _record_all(port.name, tasks, results, clock.now())


async def _links(crm: str, kind: str, local_ids: set[int]) -> dict[int, str]:
    rows = await CrmLink.filter(crm=crm, kind=kind, local_id__in=list(local_ids))
    return {row.local_id: row.remote_id for row in rows}


async def _jobs(crm: str, tasks: Sequence[CrmTask]) -> list[Job]:
    """The jobs of a pass, read with a handful of queries, not a few per task."""
    lead_ids = {t.lead_id for t in tasks if t.lead_id is not None}
    leads = {lead.id: lead for lead in await Lead.filter(id__in=list(lead_ids))}
    client_of = {t.id: _client_of(t, leads) for t in tasks}
    remote_leads = await _links(crm, "lead", lead_ids)
    remote_contacts = await _links(crm, "contact", {c for c in client_of.values() if c})
    pushed = [leads[t.lead_id] for t in tasks if t.kind is TaskKind.PUSH and t.lead_id in leads]
    cards = {card.lead_id: card for card in await cards_of(pushed)}
    jobs = []
    for task in tasks:
        lead, payload = leads.get(task.lead_id or 0), task.payload or {}
        job = Job(
            task_id=task.id,
            kind=task.kind,
            retry=task.attempts > 0,
            remote_lead=remote_leads.get(task.lead_id or 0),
            # a lead's erasure clears the lead; the client's own task deals with the contact
            remote_contact=None
            if task.kind is TaskKind.FORGET and task.lead_id is not None
            else remote_contacts.get(client_of[task.id] or 0),
            card=cards.get(task.lead_id or 0) if task.kind is TaskKind.PUSH else None,
            status=LeadStatus(payload["status"])
            if task.kind is TaskKind.STATUS and payload
            else None,
            text=_outcome_text(lead, payload)
            if task.kind is TaskKind.COMMENT and payload
            else None,
        )
        jobs.append(job)
    return jobs


def _client_of(task: CrmTask, leads: dict[int, Lead]) -> int | None:
    lead = leads.get(task.lead_id or 0)
    return lead.client_id if lead is not None else task.client_id


async def cards_of(leads: Sequence[Lead]) -> list[LeadCard]:
    """The leads as the CRM gets them, with their client and the UTM their forms carried."""
    ids = [lead.id for lead in leads]
    clients = {
        c.id: c
        for c in await Client.filter(id__in=[lead.client_id for lead in leads if lead.client_id])
    }
    utm: dict[int, dict[str, str]] = {}
    for receipt in await IntakeReceipt.filter(lead_id__in=ids).order_by("id"):
        utm.setdefault(receipt.lead_id, {}).update((receipt.details or {}).get("utm") or {})
    cards = []
    for lead in leads:
        client = clients.get(lead.client_id or 0)
        cards.append(
            LeadCard(
                lead_id=lead.id,
                client_id=lead.client_id,
                name=client.name if client else None,
                phone=client.phone if client else None,
                source=lead.source,
                campaign=lead.campaign,
                utm=utm.get(lead.id, {}),
                status=lead.status,
                summary=lead.ai_summary,
                created_at=lead.created_at,
            )
        )
    return cards


def _outcome_text(lead: Lead | None, payload: dict) -> str:
    """The outcome, its reason and the dialogue's summary, as they are now (an erasure in
    between leaves only the outcome)."""
    parts = [f"Priyom: {payload['status']}"]
    if lead is not None and lead.lost_reason and payload["status"] == LeadStatus.LOST:
        parts.append(lead.lost_reason)
    if lead is not None and lead.ai_summary:
        parts.append(lead.ai_summary)
    return "\n".join(parts)


async def _record_all(
    crm: str, tasks: Sequence[CrmTask], outcomes: Sequence[Outcome], now: dt.datetime
) -> int:
    """Failures back off one by one; the rest is marked in one transaction, with the remote
    ids it brought (stored before the tasks count as done)."""
    finished = []
    for task, outcome in zip(tasks, outcomes, strict=True):
        if not outcome.ok and not outcome.permanent:
            await _retry(task, outcome.error or "failed", now)
        else:
            finished.append((task, outcome))
    if not finished:
        return 0
    leads = {
        lead.id: lead
        for lead in await Lead.filter(id__in=[t.lead_id for t, _ in finished if t.lead_id])
    }
    async with in_transaction():
        links: dict[tuple[str, int], str] = {}
        for task, outcome in finished:
            if task.lead_id is not None and outcome.remote_lead:
                links[("lead", task.lead_id)] = outcome.remote_lead
            client_id = _client_of(task, leads)
            if client_id is not None and outcome.remote_contact:
                links[("contact", client_id)] = outcome.remote_contact
        await _store_links(crm, links, now)
        for status in (TaskStatus.DONE, TaskStatus.DEAD):
            ids = [t.id for t, o in finished if o.ok == (status is TaskStatus.DONE)]
            if ids:
                await CrmTask.filter(id__in=ids).update(
                    status=status, done_at=now, locked_until=None, attempts=F("attempts") + 1
                )
        for task, outcome in finished:
            if not outcome.ok:
                await CrmTask.filter(id=task.id).update(error=(outcome.error or "refused")[:200])
                log.warning("crm_task_dead", extra={"task": task.id, "lead": task.lead_id})
    return sum(o.ok for _, o in finished)


async def _store_links(crm: str, links: dict[tuple[str, int], str], now: dt.datetime) -> None:
    """New remote ids in one insert; a changed one (a lead pushed again) updated."""
    if not links:
        return
    known = {
        (row.kind, row.local_id): row
        for row in await CrmLink.filter(crm=crm, local_id__in=list({local for _, local in links}))
    }
    fresh = []
    for (kind, local_id), remote_id in links.items():
        row = known.get((kind, local_id))
        if row is None:
            fresh.append(
                CrmLink(crm=crm, kind=kind, local_id=local_id, remote_id=remote_id, created_at=now)
            )
        elif row.remote_id != remote_id:
            await CrmLink.filter(id=row.id).update(remote_id=remote_id, created_at=now)
    await CrmLink.bulk_create(fresh)


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
