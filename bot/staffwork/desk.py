"""The staff bot's reads and records: what its views list, whose card is whose, relay rows.

Handlers in admin_bot/ call these instead of the ORM; lists fetch related rows in the same
query (`select_related`), never one query per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.models import (
    OPEN_LEAD_STATUSES,
    Appointment,
    AppointmentStatus,
    Lead,
    MessageLog,
    Outbox,
    OutboxStatus,
    StaffAwaiting,
    StaffMember,
)
from bot.staffwork.access import Refused
from bot.staffwork.receipt import write_transaction

T = TypeVar("T")


async def staff_name(telegram_id: int, fallback: str) -> str:
    member = await StaffMember.get_or_none(telegram_id=telegram_id)
    return member.name if member else fallback


async def holder_name(lead: Lead) -> str | None:
    """Who holds the lead, for its card (None when nobody took it)."""
    return await staff_name(lead.manager_id, "—") if lead.manager_id else None


async def open_leads(manager_id: int) -> tuple[list[Lead], list[Lead]]:
    """(this manager's open leads, unclaimed ones waiting for a human or a confirmation)."""
    mine = await Lead.filter(manager_id=manager_id, status__in=OPEN_LEAD_STATUSES).select_related(
        "client"
    )
    unclaimed = await Lead.filter(
        manager_id__isnull=True, status__in=OPEN_LEAD_STATUSES, needs_human=True
    ).select_related("client")
    unclaimed += (
        await Lead.filter(
            manager_id__isnull=True,
            status__in=OPEN_LEAD_STATUSES,
            needs_human=False,
            appointments__status=AppointmentStatus.PENDING,
        )
        .distinct()
        .select_related("client")
    )
    return mine, unclaimed


async def day_visits(start: dt.datetime, master_id: str | None = None) -> list[Appointment]:
    """The day's visits from `start` (not cancelled), by master then time, with clients."""
    query = Appointment.filter(start__gte=start, start__lt=start + dt.timedelta(days=1)).exclude(
        status=AppointmentStatus.CANCELLED
    )
    if master_id is not None:
        query = query.filter(master_id=master_id)
    return await query.order_by("master_id", "start").select_related("client")


async def dialog_rows(lead_id: int, count: int) -> list[MessageLog]:
    """The lead's last `count` text messages, oldest first."""
    rows = await MessageLog.filter(lead_id=lead_id, text__isnull=False).order_by("-id").limit(count)
    return list(reversed(rows))


async def card_copies(lead_id: int) -> list[Outbox]:
    """Every alert card about the lead that reached a staff chat (to edit them all)."""
    return await Outbox.filter(
        lead_id=lead_id, kind="alert", status=OutboxStatus.SENT, message_id__isnull=False
    )


async def lead_of_card(chat_id: str, message_id: int) -> Lead | None:
    """The lead a staff message (a card, a notice) is about, if it is one of ours."""
    row = await Outbox.get_or_none(bot="staff", chat_id=chat_id, message_id=message_id)
    if row is None or row.lead_id is None:
        return None
    return await Lead.get_or_none(id=row.lead_id)


async def remember_card(
    chat_id: str, message_id: int, text: str, lead_id: int, now: dt.datetime
) -> None:
    """Record a card shown on demand, so replies to it reach the lead's client too."""
    await Outbox.create(
        bot="staff",
        chat_id=chat_id,
        kind="card",
        payload={"text": text},
        dedup_key=f"card:{chat_id}:{message_id}",
        lead_id=lead_id,
        status=OutboxStatus.SENT,
        due_at=now,
        created_at=now,
        sent_at=now,
        message_id=message_id,
    )


async def log_relay(
    lead: Lead, chat: tuple[str, str], staff_id: int, kind: str, text: str, now: dt.datetime
) -> None:
    """A manager's words to the client, in the lead's message log."""
    await MessageLog.create(
        channel=chat[0],
        chat_id=chat[1],
        client_id=lead.client_id,
        lead_id=lead.id,
        direction="out",
        author=f"staff:{staff_id}",
        kind=kind,
        text=text,
        at=now,
    )


async def appointment_of(appointment_id: int) -> Appointment | None:
    return await Appointment.get_or_none(id=appointment_id)


async def ask_staff(staff_id: int, what: str, ref: int, now: dt.datetime) -> None:
    """The person's next typed message answers this question (an amount, a lost reason)."""
    await StaffAwaiting.update_or_create(
        telegram_id=staff_id, defaults={"what": what, "ref": ref, "at": now}
    )


async def pending_question(staff_id: int) -> StaffAwaiting | None:
    return await StaffAwaiting.get_or_none(telegram_id=staff_id)


async def forget_question(staff_id: int) -> None:
    await StaffAwaiting.filter(telegram_id=staff_id).delete()


async def answer_question(staff_id: int, change: Callable[[], Awaitable[T]]) -> T:
    """A typed answer to the person's pending question (an amount, a lost reason, a catalog
    value): the change it makes, the question used up and the update's receipt commit
    together, so a redelivery neither repeats the change nor, the question gone, reaches
    the client as a relay. A refusal (the person may not do this now) uses the question up
    too, so their next message is not refused again; any other error undoes all three and
    the question stands (asked again)."""
    refused: Refused | None = None
    async with write_transaction():
        await forget_question(staff_id)
        try:
            return await change()
        except Refused as exc:  # a service refuses before it changes anything
            refused = exc
    assert refused is not None
    raise refused
