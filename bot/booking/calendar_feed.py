"""Masters' calendar feeds: unguessable tokens (stored hashed) and the RFC 5545 text.

A master subscribes their phone's calendar to a URL with the token; the feed lists their
visits with the client's first name and the service only. Each visit keeps one UID for
life, and its SEQUENCE and LAST-MODIFIED grow when it changes, so a calendar that polls
again replaces the old entry instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from icalendar import Calendar, Event

from bot.booking.schedule_view import blocks_for, first_name
from bot.config import BusinessConfig
from bot.models import Appointment, AppointmentStatus
from bot.staff_models import CalendarToken

TOKEN_BYTES = 32  # token_urlsafe(32): 43 characters, 256 bits
PAST_DAYS = 30  # the feed keeps a month of history…
AHEAD_DAYS = 180  # …and half a year ahead, whatever the booking horizon
UID_DOMAIN = "priyom"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(master_id: str, by: int, now: dt.datetime) -> str:
    """A new token for the master; any earlier one stops working at once."""
    await revoke_tokens(master_id, now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await CalendarToken.create(
        master_id=master_id, token_hash=token_hash(token), created_by=by, created_at=now
    )
    return token


async def revoke_tokens(master_id: str, now: dt.datetime) -> int:
    return await CalendarToken.filter(master_id=master_id, revoked_at__isnull=True).update(
        revoked_at=now
    )


async def active_token(master_id: str) -> CalendarToken | None:
    return await CalendarToken.get_or_none(master_id=master_id, revoked_at__isnull=True)


async def master_for_token(token: str) -> str | None:
    """The master whose live token this is, else None (unknown, revoked or malformed)."""
    if not token or len(token) > 64:
        return None
    row = await CalendarToken.get_or_none(token_hash=token_hash(token), revoked_at__isnull=True)
    return row.master_id if row else None


def _modified(appointment: Appointment) -> dt.datetime:
    """When the visit last changed (a later `updated_at` column, if any, wins)."""
    stamps = [
        appointment.created_at,
        appointment.cancelled_at,
        getattr(appointment, "updated_at", None),
    ]
    return max(s for s in stamps if s is not None)


def _sequence(appointment: Appointment) -> int:
    """Seconds from creation to the last change: grows with every change of one visit."""
    return int((_modified(appointment) - appointment.created_at).total_seconds())


def _event(appointment: Appointment, config: BusinessConfig, now: dt.datetime) -> Event:
    service = config.service(appointment.service_id)
    title = service.title if service else appointment.service_id
    first = first_name(appointment)
    event = Event()
    event.add("uid", f"appointment-{appointment.id}@{UID_DOMAIN}")
    event.add("dtstamp", now)
    event.add("dtstart", appointment.start)
    event.add("dtend", appointment.end)
    event.add("summary", f"{title} — {first}" if first else title)
    event.add("last-modified", _modified(appointment))
    event.add("sequence", _sequence(appointment))
    cancelled = appointment.status is AppointmentStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


async def feed(master_id: str, config: BusinessConfig, now: dt.datetime) -> bytes:
    """The master's VCALENDAR: visits (cancelled ones marked so) and their blocked time."""
    since, until = now - dt.timedelta(days=PAST_DAYS), now + dt.timedelta(days=AHEAD_DAYS)
    rows = (
        await Appointment.filter(master_id=master_id, start__lt=until, end__gt=since)
        .select_related("client")
        .order_by("start", "id")
    )
    master = config.master(master_id)
    cal = Calendar()
    cal.add("prodid", "-//Priyom//calendar feed//RU")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{config.business.name}: {master.name if master else master_id}")
    cal.add("x-wr-timezone", config.business.timezone)
    for appointment in rows:
        cal.add_component(_event(appointment, config, now))
    for block in await blocks_for([master_id], since, until):
        cal.add_component(block.as_event(now))
    return cal.to_ical()
