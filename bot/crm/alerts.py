"""Owners hear once when CRM sync has been failing for longer than CRM_ALERT_MINUTES.

An episode starts at the oldest still-failing task's first failure (`failing_since`); it
has been told of when an alert was queued after that moment. So an outage that drags on,
or recovers task by task, alerts once; a later outage alerts again.
"""

from __future__ import annotations

import datetime as dt

from bot.crm.models import CrmTask, TaskStatus
from bot.crm.sync import failing_since
from bot.delivery.outbox import Message, to_staff
from bot.i18n import Texts
from bot.models import Outbox

KIND = "crm_failing"


async def check_failing(
    t: Texts, owner_ids: frozenset[int], now: dt.datetime, after: dt.timedelta | None
) -> int:
    """Queue the alert to the owners when an episode is old enough; the count queued."""
    if after is None:
        return 0
    since = await failing_since(now)
    if since is None or now - since < after:
        return 0
    if await Outbox.filter(kind=KIND, created_at__gte=since).exists():
        return 0
    waiting = await CrmTask.filter(status=TaskStatus.PENDING).count()
    oldest = await CrmTask.filter(status=TaskStatus.PENDING, failing_since=since).first()
    text = t(
        "crm.failing",
        minutes=int((now - since).total_seconds() // 60),
        count=waiting,
        error=(oldest.error if oldest else "") or "—",
    )
    key = f"{since.isoformat()}"
    return await to_staff(
        sorted(owner_ids), kind=KIND, message=Message(text), key=key, now=now, lead_id=None
    )
