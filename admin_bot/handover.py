"""Staff bot: the owner's «Передать» on a lead card → pick a manager → the lead is theirs.

The service (bot/staffwork/handover.py) re-checks that the person is an owner on every press; the
picker's buttons carry only ids, typed and validated on the way back.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from admin_bot.access import StaleButton, typed_payload
from admin_bot.buttons import feature_router, pressed
from admin_bot.context import StaffContext
from bot.models import Lead, StaffMember, StaffRole
from bot.staffwork.actions import Handover
from bot.staffwork.handover import candidates, hand_over

log = logging.getLogger("priyom.staff.handover")


@typed_payload
class HandTo(CallbackData, prefix="hto"):
    """A manager picked for a lead."""

    lead_id: int
    member_id: int


async def on_handover(query: CallbackQuery, action: Handover, staff: StaffContext) -> None:
    """«Передать»: the active managers who could take the lead, one button each."""
    lead = await Lead.get_or_none(id=action.id)
    if lead is None:
        raise StaleButton()
    t = staff.texts
    managers = await candidates(lead, query.from_user.id, staff.owner_ids)
    await query.answer()
    if not managers:
        await _say(query, t("access.handover_none"))
        return
    rows = [
        [
            InlineKeyboardButton(
                text=m.name, callback_data=HandTo(lead_id=lead.id, member_id=m.id).pack()
            )
        ]
        for m in managers
    ]
    await _say(
        query, t("access.handover_pick", id=lead.id), InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def on_hand_to(query: CallbackQuery, callback_data: HandTo, staff: StaffContext) -> None:
    t, me = staff.texts, query.from_user.id
    lead = await hand_over(
        callback_data.lead_id,
        callback_data.member_id,
        me,
        staff.owner_ids,
        staff.config,
        t,
        staff.clock.now(),
    )
    if lead is None:
        await query.answer(t("access.handover_failed"), show_alert=True)
        return
    member = await StaffMember.get(id=callback_data.member_id)
    await query.answer()
    await _say(query, t("access.handover_done", id=lead.id, name=member.name))
    log.info("handed_over", extra={"lead": lead.id, "staff": me, "to": member.telegram_id})


async def _say(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)
    elif query.bot is not None:
        await query.bot.send_message(query.from_user.id, text, reply_markup=markup)


def handover_router() -> Router:
    router = feature_router("staff-handover", StaffRole.OWNER)
    router.callback_query.register(on_handover, pressed(Handover))
    router.callback_query.register(on_hand_to, HandTo.filter())
    return router
