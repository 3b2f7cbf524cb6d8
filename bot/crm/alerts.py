"""Owners hear once when CRM sync has been failing for longer than CRM_ALERT_MINUTES.

An episode starts at the oldest still-failing task's first failure (`failing_since`); it
has been told of when an alert was queued after that moment. So an outage that drags on,
or recovers task by task, alerts once; a later outage alerts again.
"""

from __future__ import annotations

import datetime as dt

from bot.crm.models import CrmTask, CrmToken, TaskStatus
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
    queued = await _token_refused(t, owner_ids, now)
    since = await failing_since(now)
    if since is None or now - since < after:
        return queued
    if await Outbox.filter(kind=KIND, created_at__gte=since).exists():
        return queued
    waiting = await CrmTask.filter(status=TaskStatus.PENDING).count()
    oldest = await CrmTask.filter(status=TaskStatus.PENDING, failing_since=since).first()
    text = t(
        "crm.failing",
        minutes=int((now - since).total_seconds() // 60),
        count=waiting,
        error=(oldest.error if oldest else "") or "—",
    )
    key = f"{since.isoformat()}"
    return queued + await to_staff(
        sorted(owner_ids), kind=KIND, message=Message(text), key=key, now=now, lead_id=None
    )


async def _token_refused(t: Texts, owner_ids: frozenset[int], now: dt.datetime) -> int:
    """The CRM refused its refresh token: the access token works until `expires_at`, after
    that sync stops until someone authorises again. Once per refused token."""
    queued = 0
    for row in await CrmToken.filter(broken__isnull=False):
        text = t("crm.reauthorise", crm=row.crm, until=row.expires_at.strftime("%d.%m %H:%M UTC"))
        key = f"token:{row.crm}:{row.version}"
        queued += await to_staff(
            sorted(owner_ids), kind=KIND, message=Message(text), key=key, now=now, lead_id=None
        )
    return queued
