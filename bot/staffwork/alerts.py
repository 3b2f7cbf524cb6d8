"""Lead alert cards for staff: what a manager needs to act on a lead in one glance."""

from __future__ import annotations

import datetime as dt

from tortoise.expressions import Subquery

from bot import raw_sql
from bot.ai.intel import card_line
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, to_staff
from bot.i18n import Texts
from bot.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Client,
    Lead,
    MessageLog,
    StaffRole,
)
from bot.staffwork.actions import CancelAsk, Claim, Confirm, Dialog, Handover, LostAsk, MoveAsk

DIALOG_LINES = 4
Known = tuple[Client | None, Appointment | None]  # a lead's client and its newest active visit


MANAGERS = (  # prepared: every alert asks, in the step's transaction; staff change elsewhere
    'SELECT "telegram_id" FROM "staff_member" '
    f'WHERE "role" = \'{StaffRole.MANAGER.value}\' AND "active" ORDER BY "id"'
)


async def recipients(config: BusinessConfig, owner_ids: frozenset[int], lead_id: int) -> list[int]:
    """Who gets this lead's alert: the staff group, the managers (all or one in turn), owners."""
    if config.staff.group_chat_id is not None:
        return [config.staff.group_chat_id]
    ids = [telegram_id for (telegram_id,) in await raw_sql.fetch_committed(MANAGERS)]
    if not ids:
        return sorted(owner_ids)
    if config.staff.alerts == "round_robin":
        return [ids[lead_id % len(ids)]]
    return ids


async def card(
    lead: Lead,
    config: BusinessConfig,
    t: Texts,
    now: dt.datetime,
    reason: str | None = None,
    taken_by: str | None = None,
    known: Known | None = None,
) -> Message:
    """The card's text and buttons; after a claim it names who took it. `known`: the lead's
    client and newest visit as the caller has them in its transaction (not read again)."""
    client, appointment = known or await _client_and_visit(lead)
    if reason is None:  # shown again (claimed, /lead): say why it needed a person
        pending = appointment is not None and appointment.status == AppointmentStatus.PENDING
        reason = "prebooking" if pending else lead.handoff_reason or "lead"
    lines = [t("staff.card_title", id=lead.id, reason=t(f"staff.reason.{reason}"))]
    lines.append(
        t(
            "staff.card_client",
            name=(client and client.name) or "—",
            phone=(client and client.phone) or "—",
            channel=", ".join(channel_label(c, t) for c in await person_channels(lead, client)),
        )
    )
    source = " / ".join(x for x in (lead.source, lead.campaign) if x) or "—"
    lines.append(t("staff.card_source", source=source))
    if appointment is not None:
        lines.append(appointment_line(appointment, config, t))
    lines += filter(None, [card_line(lead, t)])
    lines += await dialog_tail(lead.id, t, DIALOG_LINES)
    minutes = int((now - lead.created_at).total_seconds() // 60)
    lines.append(t("staff.card_age", minutes=minutes, status=t(f"staff.status.{lead.status}")))
    if taken_by:
        lines.append(t("staff.card_taken", name=taken_by))
    return Message("\n".join(lines), card_buttons(lead, appointment, t, claimed=bool(taken_by)))


async def _client_and_visit(lead: Lead) -> Known:
    """The lead's client and its newest active visit, as the card shows them."""
    client = await Client.get_or_none(id=lead.client_id) if lead.client_id else None
    appointment = (
        await Appointment.filter(lead_id=lead.id, status__in=ACTIVE_APPOINTMENT_STATUSES)
        .order_by("-id")
        .first()
    )
    return client, appointment


async def person_channels(lead: Lead, client: Client | None) -> list[str]:
    """Every channel the person wrote, called or sent a form from, this lead's first: one
    person is every (not erased) client with the same phone."""
    channels = [lead.channel]
    if client is None or not client.phone:
        return channels
    people = Client.filter(phone=client.phone, erased_at__isnull=True).values_list("id")
    used = await (
        Lead.filter(client_id__in=Subquery(people)).order_by("id").values_list("channel", flat=True)
    )
    channels += [c for c in dict.fromkeys(used) if c != lead.channel]
    return channels


def channel_label(channel: str, t: Texts) -> str:
    """«WhatsApp», «MAX»…; a channel the catalog doesn't name is shown as it is stored."""
    key = f"channel.{channel}"
    return t(key) if key in t else channel


def appointment_line(a: Appointment, config: BusinessConfig, t: Texts) -> str:
    service = config.service(a.service_id)
    master = config.master(a.master_id)
    titles = [service.title if service else a.service_id]
    if service:
        titles += [x.title for x in service.addons if x.id in a.addon_ids]
    return t(
        "staff.card_slot",
        service=" + ".join(titles),
        master=master.name if master else a.master_id,
        when=t.moment(a.start.astimezone(config.tz)),
        price=t.money(a.price_kop),
        state=t(f"staff.appt.{a.status}"),
    )


async def dialog_tail(lead_id: int, t: Texts, count: int) -> list[str]:
    rows = await MessageLog.filter(lead_id=lead_id, text__isnull=False).order_by("-id").limit(count)
    return [
        t(
            "staff.dialog_line",
            who=t(f"staff.author.{r.author.split(':')[0]}"),
            text=_short(r.text or "", 120),
        )
        for r in reversed(rows)
    ]


def card_buttons(
    lead: Lead, appointment: Appointment | None, t: Texts, claimed: bool
) -> list[list[tuple[str, str]]]:
    rows: list[list[tuple[str, str]]] = []
    if not claimed and lead.manager_id is None:
        rows.append([(t("staff.btn.claim"), Claim(lead.id).pack())])
    if appointment is not None:
        row = [
            (t("staff.btn.move"), MoveAsk(appointment.id).pack()),
            (t("staff.btn.cancel"), CancelAsk(appointment.id).pack()),
        ]
        if appointment.status == AppointmentStatus.PENDING:
            row.insert(0, (t("staff.btn.confirm"), Confirm(appointment.id).pack()))
        rows.append(row)
    rows.append(
        [
            (t("staff.btn.dialog"), Dialog(lead.id).pack()),
            (t("staff.btn.lost"), LostAsk(lead.id).pack()),
        ]
    )
    if claimed or lead.manager_id is not None:  # the owner's «Передать» (admin_bot/handover.py)
        rows.append([(t("access.btn_handover"), Handover(lead.id).pack())])
    return rows


async def alert_staff(
    lead: Lead,
    reason: str,
    config: BusinessConfig,
    t: Texts,
    owner_ids: frozenset[int],
    now: dt.datetime,
    key: str,
    known: Known | None = None,
) -> int:
    """Queue the lead's card to every recipient (in the caller's transaction); with nobody
    to alert, no card is built (its reads are the step's)."""
    chats = await recipients(config, owner_ids, lead.id)
    if not chats:
        return 0
    message = await card(lead, config, t, now, reason, known=known)
    return await to_staff(chats, kind="alert", message=message, key=key, now=now, lead_id=lead.id)


async def notify_staff(
    lead: Lead,
    text: str,
    config: BusinessConfig,
    owner_ids: frozenset[int],
    now: dt.datetime,
    key: str,
) -> None:
    """A notice about a lead: to its manager if someone took it, else to the alert list."""
    chats = [lead.manager_id] if lead.manager_id else await recipients(config, owner_ids, lead.id)
    await to_staff(chats, kind="notice", message=Message(text), key=key, now=now, lead_id=lead.id)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
