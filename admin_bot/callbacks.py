"""Staff bot: call backs of missed calls and website forms (bot/staffwork/intake.py).

«Перезвонить» claims the lead and shows the number (Telegram makes it tappable); after the
call «Перезвонил» asks for the outcome, which is an event row (kind "called") and stops the
call-back SLA; «отказ» also closes the lead as lost.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery

from admin_bot.access import StaleButton
from admin_bot.buttons import LEAD_ROLES, feature_router, keyboard, pressed, show
from admin_bot.context import StaffContext
from bot.delivery.outbox import Message as OutMessage
from bot.models import Client
from bot.staffwork.access import check_lead_id
from bot.staffwork.actions import CALL_OUTCOMES, CallBack, CalledAsk, CalledOutcome
from bot.staffwork.lead_actions import claim, record_call

log = logging.getLogger("priyom.staff.callbacks")


async def on_call(query: CallbackQuery, action: CallBack, staff: StaffContext) -> None:
    """«Перезвонить»: the lead becomes the caller's, the number is shown with «Перезвонил»."""
    me, t = query.from_user.id, staff.texts
    lead = await check_lead_id(action.id, me, staff.owner_ids)
    if lead is None:
        raise StaleButton()
    await claim(action.id, me, staff.clock.now())
    client = await Client.get_or_none(id=lead.client_id) if lead.client_id else None
    await query.answer()
    if client is None or not client.phone:
        await show(query.message, OutMessage(t("intake.no_phone", id=action.id)), edit=False)
        return
    text = t("intake.call_number", id=action.id, phone=client.phone)
    rows = keyboard([(t("intake.btn_called"), CalledAsk(action.id))])
    await show(query.message, OutMessage(text, rows), edit=False)


async def on_called(query: CallbackQuery, action: CalledAsk, staff: StaffContext) -> None:
    """«Перезвонил»: ask how the call ended (one button per outcome)."""
    await check_lead_id(action.id, query.from_user.id, staff.owner_ids)
    t = staff.texts
    rows = keyboard(
        [(t(f"intake.outcome.{o}"), CalledOutcome(action.id, o)) for o in CALL_OUTCOMES]
    )
    await query.answer()
    await show(query.message, OutMessage(t("intake.ask_outcome", id=action.id), rows), edit=False)


async def on_outcome(query: CallbackQuery, action: CalledOutcome, staff: StaffContext) -> None:
    lead_id, outcome = action.id, action.reason
    me, now, t = query.from_user.id, staff.clock.now(), staff.texts
    lead = await check_lead_id(lead_id, me, staff.owner_ids)
    if lead is None:
        raise StaleButton()
    await record_call(lead, outcome, me, now)
    await query.answer()
    text = t("intake.outcome_saved", id=lead_id, outcome=t(f"intake.outcome.{outcome}"))
    await show(query.message, OutMessage(text), edit=False)
    log.info("called_back", extra={"lead": lead_id, "outcome": outcome})


def callbacks_router() -> Router:
    router = feature_router("staff-callbacks", *LEAD_ROLES)
    cb = router.callback_query
    cb.register(on_call, pressed(CallBack))
    cb.register(on_called, pressed(CalledAsk))
    cb.register(on_outcome, pressed(CalledOutcome))
    return router
