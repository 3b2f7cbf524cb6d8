"""Staff bot: call backs of missed calls and website forms (bot/intake.py).

«Перезвонить» claims the lead and shows the number (Telegram makes it tappable); after the
call «Перезвонил» asks for the outcome, which is an event row (kind "called") and stops the
call-back SLA; «отказ» also closes the lead as lost.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from admin_bot.access import HasRole, StaleButton
from admin_bot.context import StaffContext
from bot.lead_access import check_lead_id
from bot.lead_actions import actor, claim
from bot.leads import move_lead
from bot.models import Client, LeadEvent, LeadStatus, StaffRole
from handlers.telegram import Act
from handlers.telegram_outbox import markup

log = logging.getLogger("priyom.staff.callbacks")
OUTCOMES = ("booked", "later", "no_answer", "refused")


def _args(callback_data: Act, parts: int) -> list[str]:
    """`action:<id>[:<outcome>]`, validated: nothing else rides on a button."""
    args = callback_data.v.split(":")[1:]
    if len(args) != parts or not args[0].isdigit():
        raise StaleButton()
    if parts == 2 and args[1] not in OUTCOMES:
        raise StaleButton()
    return args


async def on_call(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    """«Перезвонить»: the lead becomes the caller's, the number is shown with «Перезвонил»."""
    lead_id = int(_args(callback_data, 1)[0])
    me, t = query.from_user.id, staff.texts
    lead = await check_lead_id(lead_id, me, staff.owner_ids)
    if lead is None:
        raise StaleButton()
    await claim(lead_id, me, staff.clock.now())
    client = await Client.get_or_none(id=lead.client_id) if lead.client_id else None
    await query.answer()
    if client is None or not client.phone:
        await _reply(query, t("intake.no_phone", id=lead_id), [])
        return
    buttons = [[(t("intake.btn_called"), f"called:{lead_id}")]]
    await _reply(query, t("intake.call_number", id=lead_id, phone=client.phone), buttons)


async def on_called(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    """«Перезвонил»: ask how the call ended (one button per outcome)."""
    args = callback_data.v.split(":")[1:]
    if len(args) == 2:
        await on_outcome(query, callback_data, staff)
        return
    lead_id = int(_args(callback_data, 1)[0])
    await check_lead_id(lead_id, query.from_user.id, staff.owner_ids)
    t = staff.texts
    buttons = [[(t(f"intake.outcome.{o}"), f"called:{lead_id}:{o}")] for o in OUTCOMES]
    await query.answer()
    await _reply(query, t("intake.ask_outcome", id=lead_id), buttons)


async def on_outcome(query: CallbackQuery, callback_data: Act, staff: StaffContext) -> None:
    lead_id_s, outcome = _args(callback_data, 2)
    lead_id, me, now, t = int(lead_id_s), query.from_user.id, staff.clock.now(), staff.texts
    lead = await check_lead_id(lead_id, me, staff.owner_ids)
    if lead is None:
        raise StaleButton()
    await claim(lead_id, me, now)
    await LeadEvent.create(
        lead=lead, at=now, actor=actor(me), kind="called", note=outcome,
        from_status=lead.status, to_status=lead.status,
    )  # fmt: skip
    if outcome == "refused" and lead.status != LeadStatus.LOST:
        await move_lead(lead, LeadStatus.LOST, actor=actor(me), now=now, note=outcome)
    await query.answer()
    text = t("intake.outcome_saved", id=lead_id, outcome=t(f"intake.outcome.{outcome}"))
    await _reply(query, text, [])
    log.info("called_back", extra={"lead": lead_id, "outcome": outcome})


async def _reply(query: CallbackQuery, text: str, buttons: list) -> None:
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup(buttons) if buttons else None)


def callbacks_router() -> Router:
    router = Router(name="staff-callbacks")
    lead_staff = HasRole(StaffRole.OWNER, StaffRole.MANAGER)
    router.callback_query.register(on_call, Act.filter(F.v.startswith("cb:")), lead_staff)
    router.callback_query.register(on_called, Act.filter(F.v.startswith("called:")), lead_staff)
    return router
