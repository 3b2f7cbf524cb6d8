"""Visit reminders: when each is due, and queuing the due ones from the database.

Nothing is scheduled at booking time: the scan derives due reminders from the active
appointments, so a moved visit simply has new reminder keys (its start is in the key)
and a cancelled one has none. A scan reads only the visits whose reminder came due since
the previous scan (an indexed range of `start` per offset) and those booked since; a
scan without a previous one reads those whose reminder is due at all. The sender
re-checks each reminder just before sending (see `bot.delivery.outbox`), so a stale one
is skipped, not sent.
"""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import Q

from bot.ai.reminder import Greeter
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue_many, new_row
from bot.i18n import Texts
from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment, Client, Outbox
from scenarios.actions import CancelVisit, ConfirmVisitTap, MoveVisit

NEW_VISIT_MARGIN = dt.timedelta(minutes=5)
"""An incremental scan also reads visits booked this long before the previous scan: a
booking may commit after a scan that began later than its `created_at`."""
FULL_LOOKBACK = dt.timedelta(days=2)
"""A full scan reaches back this far beyond the longest offset: quiet hours move a send
time at most a day earlier."""
QUEUE_BATCH = 1000  # reminders queued per transaction
EVENING_MARGIN = dt.timedelta(minutes=15)  # a reminder moved out of quiet hours goes this
# long before they begin, so it is out before the night even under load


def in_quiet_hours(config: BusinessConfig, local: dt.time) -> bool:
    start, end = config.reminders.quiet_start, config.reminders.quiet_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def shift_out_of_quiet_hours(config: BusinessConfig, moment: dt.datetime) -> dt.datetime:
    """A moment in quiet hours moves to the end of the evening window before them."""
    tz = config.tz
    local = moment.astimezone(tz)
    if not in_quiet_hours(config, local.time()):
        return moment
    start = config.reminders.quiet_start
    day = local.date()
    if local.time() < start:  # after midnight: the quiet hours began the evening before
        day -= dt.timedelta(days=1)
    evening = dt.datetime.combine(day, start, tzinfo=tz) - EVENING_MARGIN
    return evening.astimezone(dt.UTC)


def reminder_plan(
    config: BusinessConfig, start: dt.datetime, booked_at: dt.datetime
) -> list[tuple[int, dt.datetime]]:
    """(offset hours, send time) for each reminder this visit gets.

    A reminder whose time had already passed when the visit was booked is skipped.
    """
    plan = []
    for hours in sorted(set(config.reminders.offsets_hours), reverse=True):
        when = shift_out_of_quiet_hours(config, start - dt.timedelta(hours=hours))
        if booked_at <= when < start:
            plan.append((hours, when))
    return plan


def reminder_key(appointment: Appointment, hours: int) -> str:
    return f"reminder:{appointment.id}:{hours}:{appointment.start.isoformat()}"


def reminder_buttons(appointment_id: int, t: Texts) -> list[list[tuple[str, str]]]:
    return [
        [(t("btn.visit_confirm"), ConfirmVisitTap(appointment_id).pack())],
        [
            (t("btn.visit_move"), MoveVisit(appointment_id).pack()),
            (t("btn.visit_cancel"), CancelVisit(appointment_id).pack()),
        ],
    ]


def quiet_periods(
    config: BusinessConfig, since: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """[begin, end) of each quiet period whose evening send time (see
    `shift_out_of_quiet_hours`) falls in (since, until]."""
    tz, start, end = config.tz, config.reminders.quiet_start, config.reminders.quiet_end
    if start == end:
        return []
    periods = []
    day = since.astimezone(tz).date() - dt.timedelta(days=1)
    while day <= until.astimezone(tz).date():
        begin = dt.datetime.combine(day, start, tzinfo=tz)
        end_day = day if start < end else day + dt.timedelta(days=1)
        if since < begin - EVENING_MARGIN <= until:
            finish = dt.datetime.combine(end_day, end, tzinfo=tz)
            periods.append((begin.astimezone(dt.UTC), finish.astimezone(dt.UTC)))
        day += dt.timedelta(days=1)
    return periods


def came_due(config: BusinessConfig, since: dt.datetime, now: dt.datetime) -> Q:
    """Visits with a reminder whose send time came in (since, now]: `start - hours` in that
    window, or in quiet hours whose evening send time is in it."""
    ranges = []
    quiet = quiet_periods(config, since, now)
    for hours in sorted(set(config.reminders.offsets_hours)):
        ahead = dt.timedelta(hours=hours)
        ranges.append(Q(start__gt=since + ahead, start__lte=now + ahead))
        ranges += [Q(start__gte=b + ahead, start__lt=e + ahead) for b, e in quiet]
    return Q(*ranges, join_type="OR")


async def reminder_candidates(
    config: BusinessConfig, now: dt.datetime, since: dt.datetime | None = None
) -> list[Appointment]:
    """Active visits to come that may have a reminder due now: those whose reminder came due
    after `since` or that were booked since (all whose reminder is due, without `since`)."""
    longest = dt.timedelta(hours=max(config.reminders.offsets_hours, default=0))
    window = came_due(config, since or now - longest - FULL_LOOKBACK, now)
    if since is not None:
        window = Q(window, Q(created_at__gt=since - NEW_VISIT_MARGIN), join_type="OR")
    return await Appointment.filter(
        window,
        status__in=ACTIVE_APPOINTMENT_STATUSES,
        start__gt=now,
        start__lte=now + longest + dt.timedelta(days=1),
        client_id__isnull=False,
    )


async def queue_due_reminders(
    config: BusinessConfig,
    t: Texts,
    now: dt.datetime,
    greeter: Greeter | None = None,
    since: dt.datetime | None = None,
) -> int:
    """Queue every reminder that is due now and was not queued yet (personal greetings
    from `greeter` when it has one; the fixed template otherwise). `since`: the previous
    scan's time, when only what came due after it needs a look."""
    upcoming = await reminder_candidates(config, now, since)
    if not upcoming:
        return 0
    queued_keys = set(
        await Outbox.filter(
            kind="reminder", appointment_id__in=[a.id for a in upcoming]
        ).values_list("dedup_key", flat=True)
    )
    due = [
        (appointment, reminder_key(appointment, hours))
        for appointment in upcoming
        for hours, when in reminder_plan(config, appointment.start, appointment.created_at)
        if when <= now and reminder_key(appointment, hours) not in queued_keys
    ]
    clients = {
        c.id: c
        for c in await Client.filter(id__in=[a.client_id for a, _ in due], erased_at__isnull=True)
    }
    greetings = await _greetings(config, greeter, due, clients)
    rows = [
        _row(config, t, appointment, clients[appointment.client_id], key, now, greetings)
        for appointment, key in due
        if appointment.client_id in clients
    ]
    queued = 0
    for first in range(0, len(rows), QUEUE_BATCH):  # short transactions: others get turns
        queued += await enqueue_many(rows[first : first + QUEUE_BATCH])
    return queued


def _titles(config: BusinessConfig, appointment: Appointment) -> tuple[str, str]:
    service = config.service(appointment.service_id)
    master = config.master(appointment.master_id)
    return (
        service.title if service else appointment.service_id,
        master.name if master else appointment.master_id,
    )


async def _greetings(
    config: BusinessConfig,
    greeter: Greeter | None,
    due: list[tuple[Appointment, str]],
    clients: dict[int, Client],
) -> dict[int, str]:
    """Personal greetings, asked for before any write (a model call may take a while)."""
    if greeter is None or not due:
        return {}
    items = [
        (a.id, clients[a.client_id].name or "", *_titles(config, a))
        for a, _ in due
        if a.client_id in clients
    ]
    return await greeter.many(items)


def _row(
    config: BusinessConfig,
    t: Texts,
    appointment: Appointment,
    client: Client,
    key: str,
    now: dt.datetime,
    greetings: dict[int, str],
) -> Outbox:
    service, master = _titles(config, appointment)
    values = {
        "name": client.name or "",
        "when": t.moment(appointment.start.astimezone(config.tz)),
        "service": service,
        "master": master,
        "address": config.business.address,
    }
    greeting = greetings.get(appointment.id)
    text = t("ai.reminder", greeting=greeting, **values) if greeting else t("reminder", **values)
    return new_row(
        bot="client",
        channel=client.channel,
        chat_id=client.channel_user_id,
        kind="reminder",
        # params: the template's variables where a channel may only send templates (WhatsApp
        # outside its 24-hour window): name, when, service, master, address
        message=Message(text, reminder_buttons(appointment.id, t), params=tuple(values.values())),
        dedup_key=key,
        now=now,
        lead_id=appointment.lead_id,
        appointment_id=appointment.id,
        valid_start=appointment.start,
    )
