"""Reconciliation (`python -m bot crm sync --since DATE`): what the CRM lacks is pushed
again, and where the CRM and the bot disagree on a lead's status it is reported (which side
is right is a person's call, so nothing is overwritten)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.crm import queue
from bot.crm.models import CrmLink, CrmTask, TaskKind, TaskStatus
from bot.crm.port import CrmPort
from bot.models import Lead, LeadStatus


@dataclass
class Report:
    leads: int = 0
    in_crm: int = 0
    repushed: list[int] = field(default_factory=list)
    differ: list[tuple[int, LeadStatus, str]] = field(default_factory=list)  # lead, bot, stage
    dead: int = 0

    def lines(self) -> list[str]:
        out = [
            f"leads: {self.leads}, in the CRM: {self.in_crm}, pushed again: {len(self.repushed)}, "
            f"status differs: {len(self.differ)}, refused for good: {self.dead}"
        ]
        out += [f"pushed again: lead {lead_id}" for lead_id in self.repushed]
        out += [f"differs: lead {i}: bot {s.value}, CRM {stage}" for i, s, stage in self.differ]
        return out


async def reconcile(port: CrmPort, since: dt.datetime, now: dt.datetime) -> Report:
    leads = await Lead.filter(created_at__gte=since).order_by("id")
    report = Report(leads=len(leads))
    links = {
        link.local_id: link
        for link in await CrmLink.filter(
            crm=port.name, kind="lead", local_id__in=[lead.id for lead in leads]
        )
    }
    remote = {
        r.remote_id: r for r in await port.read_leads([link.remote_id for link in links.values()])
    }
    for lead in leads:
        link = links.get(lead.id)
        found = remote.get(link.remote_id) if link else None
        if found is None:
            await _push_again(port.name, lead.id, link, now, report)
            continue
        report.in_crm += 1
        if found.statuses and lead.status not in found.statuses:
            report.differ.append((lead.id, lead.status, found.stage))
    report.dead = await CrmTask.filter(
        crm=port.name, status=TaskStatus.DEAD, created_at__gte=since
    ).count()
    return report


async def _push_again(
    crm: str, lead_id: int, link: CrmLink | None, now: dt.datetime, report: Report
) -> None:
    """A lead the CRM does not have (never pushed, or deleted there): pushed anew, unless a
    push is already waiting in the queue."""
    waiting = CrmTask.filter(lead_id=lead_id, kind=TaskKind.PUSH, status=TaskStatus.PENDING)
    if await waiting.exists():
        return
    if link is not None:
        await link.delete()  # deleted in the CRM: the old id means nothing any more
    if await queue.repush(lead_id, now, f"sync:{now.isoformat()}"):
        report.repushed.append(lead_id)
