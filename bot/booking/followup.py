"""A gentle nudge for a client who stopped mid-booking — once, within working hours.

The nudge is keyed on the conversation's version: it goes once per silence, and the
client's next message (a new version) makes a later silence eligible again. The lead
is flagged for managers at the same time.
"""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Client, Conversation, Outbox
from bot.staffwork.leads import flag_for_human, lead_of
from bot.staffwork.worktime import add_working_minutes, is_working
from scenarios.actions import Tap
from scenarios.state import Step

# Every question of a booking in progress (a new step is one too, unless listed here).
MID_FLOW_STEPS = frozenset(Step) - {Step.GREETING, Step.CONSENT, Step.DONE, Step.FORGET}
LOOKBACK = dt.timedelta(days=3)  # older silences are left alone


def nudge_key(conv: Conversation) -> str:
    return f"nudge:{conv.id}:{conv.version}"


async def nudge_stalled(config: BusinessConfig, t: Texts, now: dt.datetime) -> int:
    if not is_working(config, now):
        return 0
    candidates = await Conversation.filter(
        # A client already waiting for a person is not "stalled": don't nudge, don't re-flag.
        Q(lead_id__isnull=True) | Q(lead__needs_human=False) | Q(lead__handoff_reason="stalled"),
        client_id__isnull=False,
        relay_staff_id__isnull=True,
        updated_at__lte=now,
        updated_at__gte=now - LOOKBACK,
    )
    stalled = [
        c
        for c in candidates
        if c.state.get("step") in MID_FLOW_STEPS
        and add_working_minutes(config, c.updated_at, config.followup.nudge_after_minutes) <= now
    ]
    if not stalled:
        return 0
    sent = set(
        await Outbox.filter(dedup_key__in=[nudge_key(c) for c in stalled]).values_list(
            "dedup_key", flat=True
        )
    )
    nudged = 0
    for conv in stalled:
        if nudge_key(conv) not in sent:
            nudged += await _nudge(conv, t, now)
    return nudged


async def _nudge(conv: Conversation, t: Texts, now: dt.datetime) -> int:
    client = await Client.get_or_none(id=conv.client_id, erased_at__isnull=True)
    if client is None:
        return 0
    buttons = [[(t("btn.resume"), Tap.RESUME.pack()), (t("btn.human"), Tap.HUMAN.pack())]]
    async with in_transaction():
        row = await enqueue(
            bot="client",
            channel=conv.channel,
            chat_id=conv.chat_id,
            kind="nudge",
            message=Message(t("nudge", name=client.name or ""), buttons),
            dedup_key=nudge_key(conv),
            now=now,
            lead_id=conv.lead_id,
        )
        lead = await lead_of(conv.lead_id)
        if row is not None and lead is not None:
            await flag_for_human(lead, "stalled", now)
    return int(row is not None)
