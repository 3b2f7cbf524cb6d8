"""Intakes: a website form or a missed call becomes a lead in the one queue staff work from.

Adapters (handlers/forms.py, handlers/telephony.py) validate their transport and hand over a
`LeadRequest`; `Intake.take` does the rest in ONE transaction, so a redelivered form or call
notification (same key) opens nothing and a failure half-way leaves nothing behind:
receipt (the dedup key) → client by phone → lead + its events → staff card → SLA clock →
a message to the person on their messenger when the phone is a known client's.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from bot.clock import Clock
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue, to_staff
from bot.i18n import Texts
from bot.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    OPEN_LEAD_STATUSES,
    Appointment,
    Client,
    IntakeReceipt,
    Lead,
    LeadEvent,
    MessageLog,
)
from bot.staffwork.actions import CallBack, Claim, LostAsk
from bot.staffwork.alerts import card, recipients
from bot.staffwork.leads import flag_for_human, open_lead

log = logging.getLogger("priyom.intake")
PHONE_CHANNEL = "phone"  # a client known only by phone (a form, a call, a staff booking)


def in_chat(channel: str) -> bool:
    """Whether the bot can write to a client of this channel: every channel but the phone,
    so a new channel needs no entry here."""
    return channel != PHONE_CHANNEL


@dataclass(frozen=True)
class LeadRequest:
    """A validated intake: `phone` is E.164 (scenarios.parsing.normalize_phone)."""

    kind: str  # "form" | "call"
    key: str  # dedup: "tilda:<tranid>", "zadarma:<pbx_call_id>", "web:<hash>"
    phone: str
    name: str | None = None
    service: str | None = None
    preferred_time: str | None = None
    comment: str | None = None
    source: str | None = None
    campaign: str | None = None
    consent_text: str | None = None
    policy_version: str | None = None
    utm: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Taken:
    lead_id: int | None
    new_lead: bool  # False: a duplicate, or a repeated call joined an open lead
    duplicate: bool = False


class Intake:
    def __init__(
        self, config: BusinessConfig, clock: Clock, texts: Texts, owner_ids: frozenset[int]
    ) -> None:
        self.config, self.clock, self.texts, self.owner_ids = config, clock, texts, owner_ids

    async def take(self, req: LeadRequest) -> Taken:
        """Open (or join) the lead for this request, once per key."""
        now = self.clock.now()
        try:
            async with in_transaction():
                receipt = await IntakeReceipt.create(
                    key=req.key[:128],
                    kind=req.kind,
                    consent_text=(req.consent_text or None) and req.consent_text[:500],
                    policy_version=req.policy_version or None,
                    details=_details(req),
                    at=now,
                )
                taken = await self._open(req, now)
                receipt.lead_id = taken.lead_id
                await receipt.save(update_fields=["lead_id"])
        except IntegrityError:  # the key was taken before: a redelivery
            return Taken(None, False, duplicate=True)
        log.info("intake", extra={"lead": taken.lead_id, "intake": req.kind, "new": taken.new_lead})
        return taken

    async def _open(self, req: LeadRequest, now: dt.datetime) -> Taken:
        client = await _client_for(req, now)
        window = dt.timedelta(minutes=self.config.leads.dedup_minutes)
        joined = await _recent_lead(req.phone, now - window) if window else None
        if joined is not None:
            await self._join(joined, client, req, now)
            return Taken(joined.id, False)
        lead = await open_lead(
            channel=req.kind,
            client_id=client.id,
            source=(req.source or req.kind)[:24],
            campaign=req.campaign and req.campaign[:32],
            now=now,
            actor=req.kind,
        )
        await _log_request(lead, client, req, self.texts, now)
        await flag_for_human(lead, req.kind, now)  # the SLA clock starts
        await self._alert(lead, client, req.kind, now)
        if in_chat(client.channel):
            await enqueue(
                bot="client",
                channel=client.channel,
                chat_id=client.channel_user_id,
                kind="intake",
                message=Message(self.texts(f"intake.client_{req.kind}")),
                dedup_key=f"intake:{lead.id}",
                now=now,
                lead_id=lead.id,
            )
        return Taken(lead.id, True)

    async def _join(self, lead: Lead, client: Client, req: LeadRequest, now: dt.datetime) -> None:
        """The same person again within the window: one lead, the request recorded on it;
        staff are alerted only if nobody was asked to act on the lead yet."""
        await LeadEvent.create(
            lead=lead, at=now, actor=req.kind, kind=req.kind, note="repeat",
            from_status=lead.status, to_status=lead.status,
        )  # fmt: skip
        if req.kind == "form":  # what the form said shows in the card's dialogue lines
            await _log_request(lead, client, req, self.texts, now)
        if not lead.needs_human:
            await flag_for_human(lead, req.kind, now)
            await self._alert(lead, client, req.kind, now)

    async def _alert(self, lead: Lead, client: Client, reason: str, now: dt.datetime) -> None:
        """The card with «Перезвонить» (and «Написать» when the person has a messenger)."""
        base = await card(lead, self.config, self.texts, now, reason)
        chats = await recipients(self.config, self.owner_ids, lead.id)
        message = Message(base.text, intake_buttons(lead.id, client.channel, self.texts))
        await to_staff(chats, kind="alert", message=message, key=f"intake:{lead.id}", now=now,
                       lead_id=lead.id)  # fmt: skip


def intake_buttons(lead_id: int, channel: str, t: Texts) -> list[list[tuple[str, str]]]:
    """«Перезвонить» claims the lead and shows the number; «Написать» claims it and opens
    the relay to the client's messenger; «Потерян» as on every card."""
    first = [(t("intake.btn_call"), CallBack(lead_id).pack())]
    if in_chat(channel):
        first.append((t("intake.btn_write"), Claim(lead_id).pack()))
    return [first, [(t("staff.btn.lost"), LostAsk(lead_id).pack())]]


async def _client_for(req: LeadRequest, now: dt.datetime) -> Client:
    """The person with this phone: a messenger client first (the bot can write there), else
    the phone-only client, created on first contact."""
    known = await Client.filter(phone=req.phone, erased_at__isnull=True).order_by("id")
    for client in known:
        if in_chat(client.channel):
            return client
    if known:
        return known[0]
    consent = now if req.consent_text else None
    try:
        async with in_transaction():  # a savepoint: a racer may create the same person
            return await Client.create(
                channel=PHONE_CHANNEL,
                channel_user_id=req.phone,
                phone=req.phone,
                name=req.name and req.name[:80],
                consent_at=consent,
                consent_policy_version=req.policy_version if consent else None,
                created_at=now,
            )
    except IntegrityError:
        return await Client.get(channel=PHONE_CHANNEL, channel_user_id=req.phone)


async def _recent_lead(phone: str, since: dt.datetime) -> Lead | None:
    """The person's newest open lead opened since then, on any channel (one person is every
    client with this phone), unless it is booked: a request after a booking is new business."""
    people = Client.filter(phone=phone, erased_at__isnull=True).values_list("id")
    booked = Appointment.filter(status__in=ACTIVE_APPOINTMENT_STATUSES).values_list("lead_id")
    return (
        await Lead.filter(
            client_id__in=Subquery(people),
            status__in=OPEN_LEAD_STATUSES,
            created_at__gte=since,
        )
        .exclude(id__in=Subquery(booked))
        .order_by("-id")
        .first()
    )


async def _log_request(
    lead: Lead, client: Client, req: LeadRequest, t: Texts, now: dt.datetime
) -> None:
    """What the form said, as the lead's first message: the card's dialogue lines show it."""
    parts = [
        t(f"intake.field_{name}", value=value)
        for name, value in (
            ("service", req.service),
            ("time", req.preferred_time),
            ("comment", req.comment),
        )
        if value
    ]
    text = "; ".join(parts) if parts else t(f"intake.said_{req.kind}")
    await MessageLog.create(
        channel=req.kind,
        chat_id=str(client.id),
        client=client,
        lead=lead,
        direction="in",
        author="client",
        kind=req.kind,
        text=text[:1000],
        at=now,
    )


def _details(req: LeadRequest) -> dict:
    data = {"service": req.service, "time": req.preferred_time, "comment": req.comment}
    data = {k: v for k, v in data.items() if v}
    if req.utm:
        data["utm"] = req.utm
    return data
