"""Erasure asked for by phone or in person (152-FZ), done by an owner in the staff bot.

A client who came by a form, a call or a staff booking has no chat to send /forget from;
a client who asks over the phone must be served too. The owner names the number; every
client row that carries it (as its phone, or as its chat id — a WhatsApp chat id is the
number) is erased through `bot.erasure.erase_chat`, the very path a client's own /forget
takes. Visits still ahead are cancelled first, so the master's time is free again. All of
it in one transaction, re-checked at the press: the role, and that the person is still there.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from bot import erasure
from bot.booking.booker import Booker
from bot.models import OPEN_LEAD_STATUSES, Client, Conversation, Lead, LeadStatus, StaffRole
from bot.staffwork.access import NoAccess
from bot.staffwork.leads import move_lead
from bot.staffwork.staff import who

log = logging.getLogger("priyom.erasure")
CANCEL_NOTE = "cancelled:client_forgotten"


@dataclass(frozen=True)
class Found:
    """What an erasure by this number would touch (shown to the owner before «Удалить»)."""

    clients: list[Client]
    chats: list[tuple[str, str]]  # (channel, chat id) of every conversation to erase
    upcoming: int  # visits still ahead, to be cancelled

    @property
    def empty(self) -> bool:
        return not self.clients and not self.chats


def spellings(phone: str) -> list[str]:
    """The ways a stored id may carry this E.164 number: «+79…» (phone, forms, calls)
    and bare digits (WhatsApp, MAX contact ids)."""
    digits = re.sub(r"\D", "", phone)
    return [phone, digits]


async def find(phone: str, now: dt.datetime) -> Found:
    """Every not-yet-erased client and conversation known by this number."""
    ids = spellings(phone)
    clients = await Client.filter(
        Q(phone__in=ids) | Q(channel_user_id__in=ids), erased_at__isnull=True
    ).order_by("id")
    # Every client row is a chat to erase; a phone-only one («phone», the number) too.
    chats = {(c.channel, c.channel_user_id) for c in clients}
    # A chat that never consented has a conversation but no client row.
    for conv in await Conversation.filter(chat_id__in=ids).only("channel", "chat_id"):
        chats.add((conv.channel, conv.chat_id))
    ahead = 0
    for client in clients:
        ahead += len(await erasure.upcoming(client.id, now))
    return Found(clients, sorted(chats), ahead)


async def _require_owner(staff_id: int, owner_ids: frozenset[int]) -> None:
    role, _ = await who(staff_id, owner_ids)
    if role is not StaffRole.OWNER:
        raise NoAccess()


async def erase_phone(
    phone: str, staff_id: int, owner_ids: frozenset[int], booker: Booker, now: dt.datetime
) -> Found:
    """Erase everyone known by `phone`; what was erased (empty when nobody is left)."""
    await _require_owner(staff_id, owner_ids)
    async with in_transaction():
        found = await find(phone, now)
        for client in found.clients:
            await _cancel_upcoming(client.id, staff_id, booker, now)
        by_chat = {(c.channel, c.channel_user_id): c.id for c in found.clients}
        for channel, chat_id in found.chats:
            await erasure.erase_chat(channel, chat_id, by_chat.get((channel, chat_id)), None, now)
    log.info(
        "erased_by_staff",
        extra={"staff": staff_id, "clients": len(found.clients), "chats": len(found.chats)},
    )
    return found


async def _cancel_upcoming(client_id: int, staff_id: int, booker: Booker, now: dt.datetime) -> None:
    """The visits ahead are cancelled (the client is no longer expected); the lead is lost."""
    for appointment in await erasure.upcoming(client_id, now):
        await booker.cancel(appointment)
        lead = await Lead.get_or_none(id=appointment.lead_id) if appointment.lead_id else None
        if lead is not None and lead.status in OPEN_LEAD_STATUSES:
            await move_lead(
                lead, LeadStatus.LOST, actor=f"staff:{staff_id}", now=now, note=CANCEL_NOTE
            )
