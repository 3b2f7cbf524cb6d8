"""Erasure on the client's request (152-FZ): every copy of their personal data goes.

The name, phone and every dialogue line are removed wherever they were copied: the
client row, the message log, the lead's AI summary, the conversation state, and the
outbox — staff alert cards, relays, reminders, whether still pending or long sent —
and the CRM: its sync queue loses any text about them, and the CRM's contact is deleted
or anonymised there (bot/crm/queue.py). The chat id itself may be the phone number
(WhatsApp), so it is replaced everywhere by a keyed pseudonym (`bot.privacy.erased_id`):
the erased rows still join each other, the figures (leads, visits, events, response
times) stay for the KPIs, and a new message from the same number finds no conversation
and starts afresh. All of it in one transaction: a half-erased client is never visible.
"""

from __future__ import annotations

import datetime as dt
import re

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bot import privacy
from bot.crm import queue as crm_queue
from bot.models import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    ChannelMenu,
    Client,
    Conversation,
    DeliveryStatus,
    InboundMessage,
    IntakeReceipt,
    Lead,
    LeadEvent,
    MessageLog,
    Outbox,
    OutboxStatus,
)
from bot.payments.models import Deposit

ERASED = "[erased]"  # what is left of a removed text (never shown to anyone)
ERASED_PAYLOAD = {"text": ERASED, "buttons": []}
_SEPARATORS = r"[\s()\-]*"


async def erase_chat(
    channel: str, chat_id: str, client_id: int | None, lead_id: int | None, now: dt.datetime
) -> str:
    """Erase one client's data (in the caller's transaction, or its own); the chat's
    pseudonym, which the caller uses for whatever it still writes about this step."""
    alias = privacy.erased_id(channel, chat_id)
    async with in_transaction():
        client = await Client.get_or_none(id=client_id) if client_id is not None else None
        leads = await _leads(channel, chat_id, client_id, lead_id)
        needles = _needles(chat_id, client)
        await _erase_client(client, now)
        await _erase_leads(leads, needles)
        await _erase_messages(channel, chat_id, client_id, leads, alias)
        await _erase_outbox(channel, chat_id, leads, alias, needles)
        await _erase_channel_rows(channel, chat_id, alias, needles)
        await _erase_conversation(channel, chat_id, alias)
        await crm_queue.client_forgotten(client_id, leads, now)
    return alias


async def alias_of(channel: str, chat_id: str) -> str | None:
    """The pseudonym of a chat that was erased and has not written since, else None: a
    late delivery receipt for it is stored under the pseudonym, never the number."""
    if await Conversation.exists(channel=channel, chat_id=chat_id):
        return None
    alias = privacy.erased_id(channel, chat_id)
    return alias if await Conversation.exists(channel=channel, chat_id=alias) else None


async def upcoming(client_id: int | None, now: dt.datetime) -> list[Appointment]:
    """The client's visits still ahead: an erased client is not expected any more. A
    visit booked by staff for a phone client names the person through its lead only."""
    if client_id is None:
        return []
    leads = await Lead.filter(client_id=client_id).values_list("id", flat=True)
    return await Appointment.filter(
        Q(client_id=client_id) | Q(lead_id__in=leads),
        status__in=ACTIVE_APPOINTMENT_STATUSES,
        start__gt=now,
    )


async def _leads(
    channel: str, chat_id: str, client_id: int | None, lead_id: int | None
) -> list[int]:
    """Every lead of this client or this chat."""
    ids = {lead_id} if lead_id is not None else set()
    if client_id is not None:
        ids |= set(await Lead.filter(client_id=client_id).values_list("id", flat=True))
    logged = MessageLog.filter(channel=channel, chat_id=chat_id, lead_id__isnull=False)
    ids |= set(await logged.distinct().values_list("lead_id", flat=True))
    return sorted(ids)


def _needles(chat_id: str, client: Client | None) -> re.Pattern[str] | None:
    """The client's name and phone (in any spelling: +7…, 8…, spaced) as one pattern,
    to cut them out of free texts that must otherwise stay (a staff-typed lost reason)."""
    parts = [
        p for p in (client and client.phone, chat_id) if p and sum(c.isdigit() for c in p) >= 10
    ]
    patterns = [
        r"(?:\+?\d{1,3}" + _SEPARATORS + ")?" + _SEPARATORS.join(_national(p)) for p in parts
    ]
    if client is not None and client.name and len(client.name.strip()) >= 2:
        patterns.append(rf"\b{re.escape(client.name.strip())}\b")  # the word, not a part
    return re.compile("|".join(patterns), re.IGNORECASE) if patterns else None


def _national(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-10:]


def _cut(text: str | None, needles: re.Pattern[str] | None) -> str | None:
    return needles.sub(ERASED, text) if text and needles is not None else text


async def _erase_client(client: Client | None, now: dt.datetime) -> None:
    if client is None:
        return
    await Client.filter(id=client.id).update(
        name=None,
        phone=None,
        consent_at=None,
        erased_at=now,
        channel_user_id=f"erased:{client.id}",
    )


async def _erase_leads(leads: list[int], needles: re.Pattern[str] | None) -> None:
    """The AI's one-line summary retells the dialogue; intent and warmth are categories
    and stay for the figures. Staff-typed notes keep their reason, not the person."""
    if not leads:
        return
    await Lead.filter(id__in=leads).update(ai_summary=None)
    await IntakeReceipt.filter(lead_id__in=leads).update(details={})  # a form's own words
    for lead in await Lead.filter(id__in=leads, lost_reason__isnull=False):
        await Lead.filter(id=lead.id).update(lost_reason=_cut(lead.lost_reason, needles))
    for event in await LeadEvent.filter(lead_id__in=leads, note__isnull=False):
        await LeadEvent.filter(id=event.id).update(note=_cut(event.note, needles))


async def _erase_messages(
    channel: str, chat_id: str, client_id: int | None, leads: list[int], alias: str
) -> None:
    """No text of the dialogue is kept — the client's, the bot's or a manager's."""
    mine = Q(channel=channel, chat_id=chat_id) | Q(lead_id__in=leads)
    if client_id is not None:
        mine |= Q(client_id=client_id)
    await MessageLog.filter(mine).update(text=None)
    await MessageLog.filter(channel=channel, chat_id=chat_id).update(chat_id=alias)


async def _erase_outbox(
    channel: str,
    chat_id: str,
    leads: list[int],
    alias: str,
    needles: re.Pattern[str] | None,
) -> None:
    """Messages to the client and about their leads: texts gone, pending ones not sent."""
    to_client = Q(bot="client", channel=channel, chat_id=chat_id)
    for row in await Outbox.filter(to_client | Q(lead_id__in=leads)):
        row.payload = ERASED_PAYLOAD
        row.error = _cut(row.error, needles)
        if row.status == OutboxStatus.PENDING:
            row.status, row.error = OutboxStatus.SKIPPED, "erased at the client's request"
        if row.bot == "client" and row.chat_id == chat_id:
            row.chat_id = alias
            row.external_id = row.external_id and privacy.erased_id(channel, row.external_id)
        await row.save(update_fields=["payload", "error", "status", "chat_id", "external_id"])


async def _erase_channel_rows(
    channel: str, chat_id: str, alias: str, needles: re.Pattern[str] | None
) -> None:
    """Delivery receipts, inbound ids and menus name the chat (and a WhatsApp message id
    encodes the number): pseudonymised, the menu simply dropped. A receipt or a
    redelivery that came after an earlier erasure is already recorded under its
    pseudonym: the newer copy goes."""
    await ChannelMenu.filter(channel=channel, chat_id=chat_id).delete()
    await Deposit.filter(channel=channel, chat_id=chat_id).update(chat_id=alias)
    for status in await DeliveryStatus.filter(channel=channel, chat_id=chat_id):
        external_id = privacy.erased_id(channel, status.external_id)
        if await DeliveryStatus.exists(channel=channel, external_id=external_id):
            await status.delete()
            continue
        status.chat_id, status.external_id = alias, external_id
        status.error = _cut(status.error, needles)
        await status.save(update_fields=["chat_id", "external_id", "error"])
    for inbound in await InboundMessage.filter(channel=channel, chat_id=chat_id):
        message_id = privacy.erased_id(channel, inbound.message_id)
        if await InboundMessage.exists(channel=channel, message_id=message_id):
            await inbound.delete()
            continue
        inbound.chat_id, inbound.message_id = alias, message_id
        await inbound.save(update_fields=["chat_id", "message_id"])


async def _erase_conversation(channel: str, chat_id: str, alias: str) -> None:
    """The conversation keeps its row (the running step saves its state into it) under the
    pseudonym; an earlier erasure of the same number left one there: it goes first."""
    await Conversation.filter(channel=channel, chat_id=alias).delete()
    await Conversation.filter(channel=channel, chat_id=chat_id).update(
        chat_id=alias, state={}, client_id=None, lead_id=None, relay_staff_id=None
    )
