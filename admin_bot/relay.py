"""Staff bot: talking to the client through the bots — typed messages, photos, /close.

A typed message first answers a pending question (admin_bot/outcomes.py), else goes to the
client of the lead replied to or of the dialogue the person has open, else may be a question
about the numbers (admin_bot/ask.py).
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message

from admin_bot.ask import answer_staff_question
from admin_bot.buttons import ALL_ROLES, LEAD_ROLES, feature_router
from admin_bot.context import StaffContext
from admin_bot.outcomes import answer_awaited
from bot.delivery.relay import Relayed, StaffWords
from bot.delivery.relay import relay_to_client as relay
from bot.models import Lead, StaffRole
from bot.staffwork.access import check_lead
from bot.staffwork.desk import lead_of_card, pending_question
from bot.staffwork.lead_actions import close_relay, notify_client, open_relay, relayed_lead
from bot.staffwork.leads import lead_of
from handlers.telegram import attachment_ref, content_kind
from handlers.telegram_filters import not_a_command

log = logging.getLogger("priyom.staff")


async def on_staff_message(
    message: Message, staff: StaffContext, bot: Bot, role: StaffRole
) -> None:
    me = message.from_user.id
    awaiting = await pending_question(me)
    if awaiting is not None and message.text:
        await answer_awaited(message, staff, awaiting)
        return
    if role not in LEAD_ROLES:
        await message.answer(staff.texts("staff.relay_no_dialog"))
        return
    lead = await _relay_target(message, me)
    if lead is None:  # no dialogue open: maybe a question about the numbers
        if not await answer_staff_question(message, staff, role):
            await message.answer(staff.texts("staff.relay_no_dialog"))
        return
    await check_lead(lead, me, staff.owner_ids)  # another manager's lead: read-only
    await open_relay(lead, me)  # idempotent; a reply to a card opens that lead's dialogue
    await relay_to_client(message, staff, bot, lead)


async def _relay_target(message: Message, staff_id: int) -> Lead | None:
    """A reply to a card names its lead; otherwise the dialogue this person has open."""
    reply = message.reply_to_message
    if reply is not None:
        lead = await lead_of_card(str(message.chat.id), reply.message_id)
        if lead is not None:
            return lead
    return await relayed_lead(staff_id)


async def relay_to_client(message: Message, staff: StaffContext, bot: Bot, lead: Lead) -> None:
    """The manager's words go through the outbox on the client's channel (bot/delivery/relay.py)."""
    file = attachment_ref(message)
    words = StaffWords(
        message.from_user.id,
        message.text or message.caption or "",
        content_kind(message),
        f"staff/{file}" if file else "",
        f"relay:{message.chat.id}:{message.message_id}",
    )
    done, channel = await relay(staff.extra["outbox"], lead, words, staff.clock)
    if done is Relayed.NO_DIALOG:
        await message.answer(staff.texts("staff.relay_no_dialog"))
    elif done is Relayed.TEXT_ONLY:
        await message.answer(staff.texts("channels.media_as_text", channel=channel))


async def on_close(message: Message, staff: StaffContext) -> None:
    conversations = await close_relay(message.from_user.id)
    if not conversations:
        await message.answer(staff.texts("staff.nothing_to_close"))
        return
    now = staff.clock.now()
    for conv in conversations:
        lead = await lead_of(conv.lead_id)
        if lead is not None:
            await notify_client(
                lead,
                "left",
                staff.texts("staff.client_manager_left"),
                now,
                f"{lead.id}:{conv.version}:{now.timestamp()}",
            )
        await message.answer(staff.texts("staff.closed", id=conv.lead_id))


def setup() -> Router:
    """/close for the lead's people; any other typed message from any member (role inside)."""
    router = Router(name="staff-relay")
    closing = feature_router("staff-close", *LEAD_ROLES)
    closing.message.register(on_close, Command("close"))
    typed = feature_router("staff-typed", *ALL_ROLES)
    typed.message.register(on_staff_message, not_a_command)
    router.include_routers(closing, typed)
    return router
