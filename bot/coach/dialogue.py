"""A manager–client dialogue as the coach reads it, and when it counts as finished.

A relay dialogue lives in the lead's message log: the manager's words (`staff:<id>`) and
the client's messages from the first answer on (and the client's message just before it);
the bot's own messages are not part of it. The first wait counts from when the lead began
waiting for a human (`lead.attention_at`, as `/staff`'s first response), else from that
client message. It is finished when the lead is lost or its visit is over, when
the relay is closed after a booking, or after `coach.quiet_hours` of silence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from bot.coach.models import DialogueReview
from bot.config import BusinessConfig
from bot.models import (
    Appointment,
    AppointmentStatus,
    Client,
    Conversation,
    Lead,
    LeadStatus,
    MessageLog,
)

SCAN_DAYS = 14  # dialogues with a manager's message in this window are looked at
ENDED = (LeadStatus.LOST, LeadStatus.CAME, LeadStatus.NO_SHOW)


@dataclass(frozen=True)
class Turn:
    manager: bool  # False: the client
    text: str
    at: dt.datetime


@dataclass(frozen=True)
class Dialogue:
    lead_id: int
    manager_id: int
    turns: tuple[Turn, ...]
    outcome: LeadStatus
    lost_check_kop: int = 0
    client_name: str | None = None  # masked before anything leaves the bot
    waiting_since: dt.datetime | None = None  # the lead began waiting for a human (its SLA)

    @property
    def finished_at(self) -> dt.datetime:
        return self.turns[-1].at


def dialogue_of(lead: Lead, rows: list[MessageLog], client_name: str | None = None) -> Dialogue:
    """The relay part of a lead's log (rows oldest first, at least one manager message)."""
    first = next(i for i, r in enumerate(rows) if r.author.startswith("staff:"))
    waited = first > 0 and rows[first - 1].author == "client"
    start = first - 1 if waited else first  # the wait is measured from the client's message
    turns = tuple(
        Turn(r.author.startswith("staff:"), r.text or "", r.at)
        for r in rows[start:]
        if r.author == "client" or r.author.startswith("staff:")
    )
    authors = [int(r.author.partition(":")[2]) for r in rows if r.author.startswith("staff:")]
    manager = lead.manager_id if lead.manager_id in authors else max(authors, key=authors.count)
    since = lead.attention_at if lead.attention_at and lead.attention_at <= rows[first].at else None
    return Dialogue(
        lead.id,
        manager,
        turns,
        LeadStatus(lead.status),
        client_name=client_name,
        waiting_since=since,
    )


async def _candidates(now: dt.datetime) -> list[int]:
    """Leads with a manager's message lately and no review yet (oldest first)."""
    since = now - dt.timedelta(days=SCAN_DAYS)
    talked = await (
        MessageLog.filter(author__startswith="staff:", at__gte=since, lead_id__isnull=False)
        .distinct()
        .values_list("lead_id", flat=True)
    )
    done = set(
        await DialogueReview.filter(lead_id__in=list(talked)).values_list("lead_id", flat=True)
    )
    return sorted(set(talked) - done)


async def _relay_open(lead: Lead) -> bool:
    if lead.client_id is None:
        return False
    return await Conversation.filter(
        client_id=lead.client_id, relay_staff_id__isnull=False
    ).exists()


def is_finished(
    lead: Lead, last_at: dt.datetime, relay_open: bool, config: BusinessConfig, now: dt.datetime
) -> bool:
    if lead.status in ENDED:
        return True
    if last_at <= now - dt.timedelta(hours=config.coach.quiet_hours):
        return True
    return lead.status == LeadStatus.CONFIRMED and not relay_open


async def lost_check(lead: Lead) -> int:
    """What a lost lead would have paid: its largest cancelled booking (kopecks)."""
    if lead.status != LeadStatus.LOST:
        return 0
    prices = await Appointment.filter(
        lead_id=lead.id, status=AppointmentStatus.CANCELLED
    ).values_list("price_kop", flat=True)
    return max(prices, default=0)


async def finished_dialogues(
    config: BusinessConfig, now: dt.datetime, limit: int = 20
) -> list[Dialogue]:
    """Up to `limit` finished, unreviewed relay dialogues."""
    out: list[Dialogue] = []
    for lead_id in await _candidates(now):
        lead = await Lead.get_or_none(id=lead_id)
        if lead is None:
            continue
        rows = await MessageLog.filter(lead_id=lead_id, text__isnull=False).order_by("at", "id")
        if not any(r.author.startswith("staff:") for r in rows):
            continue
        if not is_finished(lead, rows[-1].at, await _relay_open(lead), config, now):
            continue
        client = await Client.get_or_none(id=lead.client_id) if lead.client_id else None
        dialogue = dialogue_of(lead, list(rows), client.name if client else None)
        out.append(dataclasses.replace(dialogue, lost_check_kop=await lost_check(lead)))
        if len(out) >= limit:
            break
    return out
