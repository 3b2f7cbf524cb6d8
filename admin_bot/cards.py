"""Staff bot: lead cards and claiming («Взять»), and /lead #id to show a card on demand."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from admin_bot.buttons import LEAD_ROLES, feature_router, pressed, show
from admin_bot.context import StaffContext, arg_of
from bot.delivery.outbox import Message as OutMessage
from bot.staffwork.actions import Claim
from bot.staffwork.alerts import card
from bot.staffwork.desk import card_copies, holder_name, remember_card, staff_name
from bot.staffwork.lead_actions import claim, notify_client, open_relay
from bot.staffwork.leads import lead_of
from handlers.telegram_outbox import markup

log = logging.getLogger("priyom.staff")


async def on_claim(query: CallbackQuery, action: Claim, staff: StaffContext, bot: Bot) -> None:
    lead_id, me, now = action.id, query.from_user.id, staff.clock.now()
    result = await claim(lead_id, me, now)
    lead = await lead_of(lead_id)
    if lead is None:
        await query.answer(staff.texts("staff.unknown_action"), show_alert=True)
        return
    holder = await staff_name(result.manager_id or me, query.from_user.first_name)
    taken = await card(lead, staff.config, staff.texts, now, taken_by=holder)
    if not result.won:
        await query.answer(
            staff.texts("staff.claimed_other", id=lead_id, name=holder), show_alert=True
        )
        await show(query.message, taken)
        return
    await query.answer()
    await open_relay(lead, me)
    await notify_client(
        lead,
        "joined",
        staff.texts("staff.client_manager_joined", name=holder),
        now,
        f"{lead_id}:{me}",
    )
    await show(query.message, taken)
    await bot.send_message(me, staff.texts("staff.claimed_you", id=lead_id))
    await _update_other_cards(bot, lead_id, query, taken)
    log.info("claimed", extra={"lead": lead_id, "staff": me})


async def _update_other_cards(
    bot: Bot, lead_id: int, query: CallbackQuery, taken: OutMessage
) -> None:
    """Every other copy of the alert now says who took the lead."""
    here = (str(query.message.chat.id), query.message.message_id) if query.message else None
    for row in await card_copies(lead_id):
        if (row.chat_id, row.message_id) == here:
            continue
        try:
            await bot.edit_message_text(
                taken.text,
                chat_id=row.chat_id,
                message_id=row.message_id,
                reply_markup=markup(taken.payload()["buttons"]),
            )
        except Exception:
            log.warning("card_edit_failed", extra={"lead": lead_id, "chat": row.chat_id})


async def on_lead(message: Message, command: CommandObject, staff: StaffContext) -> None:
    t = staff.texts
    arg = arg_of(command).lstrip("#")
    if not arg.isdigit():
        await message.answer(t("staff.lead_usage"))
        return
    lead = await lead_of(int(arg))
    if lead is None:
        await message.answer(t("staff.lead_missing", id=arg))
        return
    now = staff.clock.now()
    out = await card(lead, staff.config, t, now, taken_by=await holder_name(lead))
    sent = await message.answer(out.text, reply_markup=markup(out.payload()["buttons"]))
    await remember_card(str(sent.chat.id), sent.message_id, sent.text or "", lead.id, now)


def setup() -> Router:
    router = feature_router("staff-cards", *LEAD_ROLES)
    router.callback_query.register(on_claim, pressed(Claim))
    router.message.register(on_lead, Command("lead"))
    return router
