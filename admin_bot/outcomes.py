"""Staff bot: how a lead ends — lost (with a reason) — and how a visit went (came, paid, no-show).

A reason «другое» and an amount other than the price are typed as the next message; the
relay (admin_bot/relay.py) hands such answers to `answer_awaited` here.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from admin_bot.access import StaleButton
from admin_bot.bookings import actions_of
from admin_bot.buttons import (
    ALL_ROLES,
    LEAD_ROLES,
    ask_reason,
    feature_router,
    keyboard,
    pressed,
    show,
)
from admin_bot.context import StaffContext
from bot.delivery.outbox import Message as OutMessage
from bot.models import Lead, StaffAwaiting
from bot.staffwork.access import check_lead_id, check_outcome
from bot.staffwork.actions import Came, LostAsk, LostReason, NoShow, Paid
from bot.staffwork.desk import answer_question, appointment_of, ask_staff
from bot.staffwork.outcomes import parse_paid


async def on_lost_ask(query: CallbackQuery, action: LostAsk, staff: StaffContext) -> None:
    await check_lead_id(action.id, query.from_user.id, staff.owner_ids)
    await ask_reason(query, LostReason, action.id, "lost", staff.texts)


async def on_lost_reason(query: CallbackQuery, action: LostReason, staff: StaffContext) -> None:
    t, me = staff.texts, query.from_user.id
    if action.reason == "other":
        await check_lead_id(action.id, me, staff.owner_ids)
        await ask_staff(me, "lost_reason", action.id, staff.clock.now())
        await query.answer()
        await show(query.message, OutMessage(t("staff.lost_other_ask")))
        return
    reason = t(f"staff.lost_reason.{action.reason}")
    actions, now = await actions_of(staff), staff.clock.now()
    lead = await actions.mark_lost(action.id, reason, me, now)
    await show_lost(query.message, staff, action.id, reason, lead)
    await query.answer()


async def show_lost(
    message: Message | None, staff: StaffContext, lead_id: int, reason: str, lead: Lead | None
) -> None:
    t = staff.texts
    text = t("staff.lost_done", id=lead_id, reason=reason) if lead else t("staff.already_done")
    await show(message, OutMessage(text))


async def on_came(query: CallbackQuery, action: Came, staff: StaffContext) -> None:
    """«Пришёл»: ask the amount; the button offers the price from the database."""
    appointment = await appointment_of(action.id)
    t, now = staff.texts, staff.clock.now()
    if appointment is None:
        raise StaleButton()
    await check_outcome(appointment, query.from_user.id, staff.owner_ids, now)
    await ask_staff(query.from_user.id, "amount", action.id, now)
    price = t.money(appointment.price_kop)
    buttons = keyboard([(t("staff.btn.paid", price=price), Paid(action.id))])
    await query.answer()
    await show(query.message, OutMessage(t("staff.came_amount", price=price), buttons))


async def on_paid(query: CallbackQuery, action: Paid, staff: StaffContext) -> None:
    """«Оплачено по прайсу»: the amount is the appointment's price, read again here."""
    appointment = await appointment_of(action.id)
    if appointment is None:
        raise StaleButton()
    text = await record_came(staff, query.from_user.id, action.id, appointment.price_kop)
    await query.answer()
    await show(query.message, OutMessage(text))


async def record_came(staff: StaffContext, staff_id: int, appointment_id: int, kop: int) -> str:
    """The visit with the amount paid, the amount question used up in its transaction."""
    t, actions, now = staff.texts, await actions_of(staff), staff.clock.now()
    done = await answer_question(
        staff_id, lambda: actions.record_visit(appointment_id, True, kop, staff_id, now)
    )
    return t("staff.came_done", amount=t.money(kop)) if done else t("staff.already_done")


async def on_noshow(query: CallbackQuery, action: NoShow, staff: StaffContext) -> None:
    t, actions = staff.texts, await actions_of(staff)
    done = await actions.record_visit(action.id, False, None, query.from_user.id, staff.clock.now())
    await query.answer()
    await show(
        query.message, OutMessage(t("staff.noshow_done") if done else t("staff.already_done"))
    )


async def answer_awaited(message: Message, staff: StaffContext, awaiting: StaffAwaiting) -> None:
    """A typed amount (validated) or a typed lost reason (cut to 200 characters), each
    committed with the question used up and the update's receipt (answer_question)."""
    me = message.from_user.id
    if awaiting.what == "amount":
        kopecks = parse_paid(message.text or "")
        if kopecks is None:
            await message.answer(staff.texts("staff.amount_invalid"))
            return
        await message.answer(await record_came(staff, me, awaiting.ref, kopecks))
        return
    reason, actions, now = (message.text or "")[:200], await actions_of(staff), staff.clock.now()
    lead = await answer_question(me, lambda: actions.mark_lost(awaiting.ref, reason, me, now))
    await show_lost(message, staff, awaiting.ref, reason, lead)


def setup() -> Router:
    """Lost is for the lead's people; a visit's outcome for masters too (re-checked on press)."""
    router = Router(name="staff-outcomes")
    lost = feature_router("staff-lost", *LEAD_ROLES)
    lost.callback_query.register(on_lost_ask, pressed(LostAsk))
    lost.callback_query.register(on_lost_reason, pressed(LostReason))
    visits = feature_router("staff-visits", *ALL_ROLES)
    visits.callback_query.register(on_came, pressed(Came))
    visits.callback_query.register(on_paid, pressed(Paid))
    visits.callback_query.register(on_noshow, pressed(NoShow))
    router.include_routers(lost, visits)
    return router
