"""A status change made in the CRM, applied to the bot's lead.

The event itself is only a hint (its body could be forged or stale): the lead is read
again through the CRM's API and its stage, mapped back by configuration, is what counts.
The change is an ordinary funnel move with an event row (actor "crm"), so KPIs see it;
a move the funnel does not allow (a closed lead reopened in the CRM) is left alone.
"""

from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from bot.clock import Clock
from bot.crm.models import CrmLink
from bot.crm.port import CRM_ACTOR, CrmPort
from bot.models import Lead
from bot.staffwork.leads import can_move, move_lead

log = logging.getLogger("priyom.crm")


async def apply_remote_change(port: CrmPort, remote_id: str, clock: Clock) -> str:
    """What became of the event: "moved", "same", "refused", "unknown"."""
    link = await CrmLink.get_or_none(crm=port.name, kind="lead", remote_id=remote_id)
    if link is None:
        return "unknown"  # a lead the bot did not push
    remote = {r.remote_id: r for r in await port.read_leads([remote_id])}.get(remote_id)
    if remote is None:
        return "unknown"
    async with in_transaction():
        lead = await Lead.get_or_none(id=link.local_id)
        if lead is None or not remote.statuses or lead.status in remote.statuses:
            return "same"
        target = next((s for s in remote.statuses if can_move(lead.status, s)), None)
        if target is None:
            log.info("crm_move_refused", extra={"lead": lead.id, "stage": remote.stage})
            return "refused"
        await move_lead(lead, target, actor=CRM_ACTOR, now=clock.now(), note=f"CRM: {remote.stage}")
    log.info("crm_moved", extra={"lead": link.local_id, "to": target.value})
    return "moved"
