"""The owners' scheduled numbers: the evening summary and the weekly report with its chart.

Called from every timed tick. Once per day (per week) per owner, whatever the number of
worker processes or restarts: each message has the dedup key `summary:<date>:<owner>` /
`weekly:<monday>:<owner>` (unique in the outbox), and the keys are looked up first so the
figures are computed only while some owner still lacks today's copy. Only TODAY's summary
and THIS week's report are ever queued: a worker that was down at 20:00 sends the summary
when it comes back the same evening, and never a stale one for an earlier day.
"""

from __future__ import annotations

import datetime as dt

from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Outbox
from bot.numbers import reports
from bot.periods import Span


async def _missing(keys: dict[int, str]) -> dict[int, str]:
    """The owners whose copy is not in the outbox yet (one indexed lookup)."""
    queued = set(
        await Outbox.filter(dedup_key__in=list(keys.values())).values_list("dedup_key", flat=True)
    )
    return {owner: key for owner, key in keys.items() if key not in queued}


async def _queue(
    keys: dict[int, str],
    kind: str,
    message: Message,
    now: dt.datetime,
    due_at: dt.datetime | None = None,
) -> int:
    queued = 0
    for owner, key in keys.items():
        row = await enqueue(
            bot="staff",
            chat_id=owner,
            kind=kind,
            message=message,
            dedup_key=key,
            now=now,
            due_at=due_at,
        )
        queued += row is not None
    return queued


async def queue_summary(
    config: BusinessConfig, t: Texts, owner_ids: frozenset[int], now: dt.datetime
) -> int:
    """Today's evening summary to every owner, once the configured time has come."""
    local = now.astimezone(config.tz)
    if not owner_ids or local.time() < config.reports.summary_at:
        return 0
    day = local.date()
    keys = await _missing({o: f"summary:{day}:{o}" for o in sorted(owner_ids)})
    if not keys:
        return 0
    text = await reports.evening_summary(config, t, day)
    return await _queue(keys, "summary", Message(text), now)


def weekly_span(config: BusinessConfig, local: dt.datetime) -> Span | None:
    """The seven days before today, when today is the weekly day and its time has come."""
    rep = config.reports
    if local.weekday() != rep.weekly_day or local.time() < rep.weekly_time:
        return None
    today = local.date()
    return Span(today - dt.timedelta(days=7), today - dt.timedelta(days=1))


async def queue_weekly(
    config: BusinessConfig, t: Texts, owner_ids: frozenset[int], now: dt.datetime
) -> int:
    """The weekly report (a text message, then the chart as a photo) to every owner."""
    span = weekly_span(config, now.astimezone(config.tz))
    if span is None or not owner_ids:
        return 0
    owners = sorted(owner_ids)
    text_keys = await _missing({o: f"weekly:{span.first}:{o}" for o in owners})
    chart_keys = await _missing({o: f"weekly_chart:{span.first}:{o}" for o in owners})
    queued = 0
    if text_keys:
        text = await reports.weekly_text(config, t, span)
        queued += await _queue(text_keys, "report", Message(text), now)
    if chart_keys:
        png = await reports.weekly_chart(config, t, span)
        caption = t("reports.weekly.chart", period=span.label())
        # due a second later, so the chart follows the text in the owner's chat
        later = now + dt.timedelta(seconds=1)
        queued += await _queue(chart_keys, "report", Message(caption, png=png), now, later)
    return queued
