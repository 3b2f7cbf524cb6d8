"""An owner hands a lead to another manager («Передать»).

One conditional UPDATE decides (a concurrent claim or hand-over wins or loses cleanly); the
lead event (who, when, from, to), the move of an open relay and the notices to the new and
the old holder are written in the same transaction, so nothing is lost to a restart.
"""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import (
    OPEN_LEAD_STATUSES,
    Conversation,
    Lead,
    LeadEvent,
    StaffMember,
    StaffRole,
)
from bot.staffwork.access import NoAccess
from bot.staffwork.alerts import card
from bot.staffwork.lead_actions import actor, client_chat
from bot.staffwork.staff import role_of

EVENT_KIND = "handover"


async def check_owner(staff_id: int, owner_ids: frozenset[int]) -> None:
    if await role_of(staff_id, owner_ids) is not StaffRole.OWNER:
        raise NoAccess()


async def candidates(lead: Lead, staff_id: int, owner_ids: frozenset[int]) -> list[StaffMember]:
    """Active managers who could take the lead (not its holder), by name."""
    await check_owner(staff_id, owner_ids)
    managers = StaffMember.filter(role=StaffRole.MANAGER, active=True)
    if lead.manager_id is not None:
        managers = managers.exclude(telegram_id=lead.manager_id)
    return await managers.order_by("name", "id")


async def hand_over(
    lead_id: int,
    member_id: int,
    staff_id: int,
    owner_ids: frozenset[int],
    config: BusinessConfig,
    texts: Texts,
    now: dt.datetime,
) -> Lead | None:
    """Give an open lead to an active manager; None when the lead or the person changed."""
    await check_owner(staff_id, owner_ids)
    target = await StaffMember.get_or_none(id=member_id, role=StaffRole.MANAGER, active=True)
    lead = await Lead.get_or_none(id=lead_id, status__in=OPEN_LEAD_STATUSES)
    if target is None or lead is None or lead.manager_id == target.telegram_id:
        return None
    old, new = lead.manager_id, target.telegram_id
    holder = {"manager_id__isnull": True} if old is None else {"manager_id": old}
    async with in_transaction():
        if not await Lead.filter(id=lead_id, **holder).update(manager_id=new, updated_at=now):
            return None  # claimed or handed over a moment ago
        event = await LeadEvent.create(
            lead=lead,
            at=now,
            actor=actor(staff_id),
            kind=EVENT_KIND,
            from_status=lead.status,
            to_status=lead.status,
            note=f"from:{old or '-'} to:{new}",
        )
        lead.manager_id = new
        await _move_relay(lead, old, new)
        await _notify(lead, old, target, config, texts, now, event.id)
    return lead


async def _move_relay(lead: Lead, old: int | None, new: int) -> None:
    """The client's messages went to the old holder: they go to the new one now."""
    chat = await client_chat(lead)
    if old is None or chat is None:
        return
    await Conversation.filter(channel=chat[0], chat_id=chat[1], relay_staff_id=old).update(
        relay_staff_id=new, version=F("version") + 1
    )


async def _notify(
    lead: Lead,
    old: int | None,
    target: StaffMember,
    config: BusinessConfig,
    texts: Texts,
    now: dt.datetime,
    event_id: int,
) -> None:
    shown = await card(lead, config, texts, now, taken_by=target.name)
    intro = texts("access.handed_to_you", id=lead.id)
    await enqueue(
        bot="staff",
        chat_id=target.telegram_id,
        kind="notice",
        message=Message(f"{intro}\n\n{shown.text}", shown.buttons),
        dedup_key=f"{EVENT_KIND}:{event_id}:to",
        now=now,
        lead_id=lead.id,
    )
    if old is not None:
        await enqueue(
            bot="staff",
            chat_id=old,
            kind="notice",
            message=Message(texts("access.handed_away", id=lead.id, name=target.name)),
            dedup_key=f"{EVENT_KIND}:{event_id}:from",
            now=now,
            lead_id=lead.id,
        )
