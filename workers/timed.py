"""What time has made due: reminders, SLA breaches, nudges, outcome prompts, and whether
messages to clients run late (an outage staff should hear of).

`urgent()` (SLA breaches) runs every second on its own (workers.embedded, the arq `urgent`
job); `run()` is the rest, whose scans may take a while without delaying an escalation.

Everything it finds is written to the outbox; delivery is separate (the embedded loop
or arq jobs). Safe to run from several processes at once: each message has a unique
dedup key and each breach a unique row.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from bot.ai.reminder import Greeter
from bot.booking.booker import Booker
from bot.booking.confirm_calls import flag_unconfirmed
from bot.booking.followup import nudge_stalled
from bot.booking.reminders import queue_due_reminders
from bot.booking.reshuffle import flag_unanswered
from bot.booking.waitlist_timed import waitlist_tick
from bot.clock import Clock
from bot.coach.bonus import queue_progress
from bot.coach.model_review import Reviewer
from bot.coach.review import review_finished
from bot.coach.weekly import queue_personal
from bot.config import BusinessConfig
from bot.crm.alerts import check_failing as crm_failing
from bot.delivery.lateness import check_lateness
from bot.delivery.step_outbox import prune_receipts
from bot.i18n import Texts
from bot.numbers.anomalies import queue_anomalies
from bot.numbers.report_schedule import queue_summary, queue_weekly, weekly_span
from bot.payments.gateway import PaymentWork
from bot.payments.holds import release_due
from bot.staffwork.outcomes import prompt_outcomes
from bot.staffwork.sla import check_sla

log = logging.getLogger("priyom.worker")


REMINDER_SCAN = dt.timedelta(seconds=30)
"""Reminders are looked for every 30 s, each look only at what became due since the last
(bot.booking.reminders); SLA deadlines are checked every second by `urgent()`."""
FULL_REMINDER_SCAN = dt.timedelta(hours=1)
"""A process's first look, and then one an hour, covers every visit whose reminder is due,
not only the newly due: a safety net for a clock that jumped or a booking committed late."""
LATENESS_SCAN = dt.timedelta(seconds=30)
"""Late client messages are looked for every 30 s: an outage alert is due after minutes."""
ANOMALY_SCAN = dt.timedelta(hours=1)
"""Anomalies compare whole days, so an hourly look is plenty (per process; the dedup key
keeps it to one message per metric per week however many processes look)."""
COACH_SCAN = dt.timedelta(seconds=30)
"""Finished dialogues and newly counted bookings are looked for every 30 s: a tip or a
bonus note minutes late is fine, and the review scan may wait for a model."""
RECEIPT_PRUNE = dt.timedelta(hours=1)
"""Old update receipts go hourly (bot.delivery.step_outbox.prune_receipts keeps 3 days, and
each chat's newest)."""


@dataclass(frozen=True)
class TimedWork:
    config: BusinessConfig
    texts: Texts
    clock: Clock
    owner_ids: frozenset[int]
    greeter: Greeter | None = field(default=None, compare=False)  # personal reminder texts
    reviewer: Reviewer | None = field(default=None, compare=False)  # the coach's model, if any
    crm_alert_after: dt.timedelta | None = None  # CRM sync on: owners hear of failures this old
    payments: PaymentWork | None = field(default=None, compare=False)  # YooKassa links, refunds
    _last_scan: dict[str, dt.datetime] = field(default_factory=dict, compare=False)

    def _due(self, what: str, every: dt.timedelta, now: dt.datetime) -> bool:
        last = self._last_scan.get(what)
        if last is not None and last <= now < last + every:
            return False
        self._last_scan[what] = now
        return True

    async def _reminders(self, now: dt.datetime) -> int:
        if not self._due("reminders", REMINDER_SCAN, now):
            return 0
        full = self._due("reminders_full", FULL_REMINDER_SCAN, now)
        since = self._last_scan.get("reminded_until")
        if full or since is None or since > now:  # a clock moved back: look at everything
            since = None
        queued = await queue_due_reminders(self.config, self.texts, now, self.greeter, since)
        self._last_scan["reminded_until"] = now  # only once the scan succeeded
        return queued

    async def _lateness(self, now: dt.datetime) -> int:
        if not self._due("lateness", LATENESS_SCAN, now):
            return 0
        return await check_lateness(self.config, self.texts, self.owner_ids, now)

    async def _reports(self, now: dt.datetime) -> int:
        args = (self.config, self.texts, self.owner_ids, now)
        queued = await queue_summary(*args) + await queue_weekly(*args)
        if self._due("anomalies", ANOMALY_SCAN, now):
            queued += await queue_anomalies(*args)
        return queued

    async def _coach(self, now: dt.datetime) -> int:
        """Dialogue reviews and their tips, bonus progress, managers' weekly summaries."""
        queued = 0
        if self._due("coach", COACH_SCAN, now):
            reviewer = self.reviewer or Reviewer(self.config, self.texts)
            args = (self.config, self.texts, now, self.owner_ids)
            queued += await review_finished(reviewer, *args)
            queued += await queue_progress(self.config, self.texts, now)
        span = weekly_span(self.config, now.astimezone(self.config.tz))
        if span is not None:
            queued += await queue_personal(self.config, self.texts, span, now)
        return queued

    async def _deposits(self, now: dt.datetime) -> int:
        """Unpaid holds released; YooKassa payment links made and refunds asked for."""
        booker = Booker(self.config, self.clock)
        released = await release_due(booker, self.texts, self.config, now)
        return released + (await self.payments.run(now) if self.payments else 0)

    async def _receipts(self, now: dt.datetime) -> int:
        return await prune_receipts(now) if self._due("receipts", RECEIPT_PRUNE, now) else 0

    async def urgent(self) -> dict[str, int]:
        """Record and tell SLA breaches (every second, apart from the slower scans)."""
        done = {"sla": await check_sla(self.config, self.texts, self.owner_ids, self.clock.now())}
        if any(done.values()):
            log.info("timed_work", extra=done)
        return done

    async def run(self) -> dict[str, int]:
        """Everything else that time made due."""
        now = self.clock.now()
        done = {
            "deposits": await self._deposits(now),
            "reminders": await self._reminders(now),
            "nudges": await nudge_stalled(self.config, self.texts, now),
            "outcomes": await prompt_outcomes(self.config, self.texts, self.owner_ids, now),
            "reports": await self._reports(now),
            "late": await self._lateness(now),
            "reshuffle": await flag_unanswered(self.config, self.texts, self.owner_ids, now),
            "coach": await self._coach(now),
            "crm": await crm_failing(self.texts, self.owner_ids, now, self.crm_alert_after),
            "waitlist": await waitlist_tick(self.config, self.texts, self.clock),
            "confirm_calls": await flag_unconfirmed(self.config, self.texts, self.owner_ids, now),
            "receipts_pruned": await self._receipts(now),
        }
        if any(done.values()):
            log.info("timed_work", extra=done)
        return done
