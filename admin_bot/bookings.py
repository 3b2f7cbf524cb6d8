"""Staff bot: a booking's confirm, cancel (with a reason) and move (to one of the next slots)."""

from __future__ import annotations

import datetime as dt

from aiogram import Router
from aiogram.types import CallbackQuery

from admin_bot.buttons import LEAD_ROLES, ask_reason, feature_router, keyboard, pressed, show
from admin_bot.context import StaffContext
from bot.booking.slots import Slot
from bot.delivery.outbox import Message as OutMessage
from bot.models import Appointment, AppointmentStatus
from bot.staffwork.access import check_appointment
from bot.staffwork.actions import CancelAsk, CancelReason, Confirm, MoveAsk, MoveTo
from bot.staffwork.alerts import card
from bot.staffwork.desk import appointment_of, holder_name
from bot.staffwork.lead_actions import LeadActions, SlotGone

MOVE_CHOICES = 6
MOVABLE = (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED)


async def actions_of(staff: StaffContext) -> LeadActions:
    """A visit already booked keeps its service even when it is no longer offered."""
    return LeadActions(await staff.catalog(), staff.texts, staff.booker, staff.owner_ids)


async def on_confirm(query: CallbackQuery, action: Confirm, staff: StaffContext) -> None:
    now, actions = staff.clock.now(), await actions_of(staff)
    lead = await actions.confirm(action.id, query.from_user.id, now)
    if lead is None:
        await query.answer(staff.texts("staff.already_done"), show_alert=True)
        return
    await query.answer(staff.texts("staff.confirmed", id=lead.id))
    taken_by = await holder_name(lead)
    await show(query.message, await card(lead, staff.config, staff.texts, now, taken_by=taken_by))


async def on_cancel_ask(query: CallbackQuery, action: CancelAsk, staff: StaffContext) -> None:
    await check_appointment(action.id, query.from_user.id, staff.owner_ids)
    await ask_reason(query, CancelReason, action.id, "cancel", staff.texts)


async def on_cancel_reason(query: CallbackQuery, action: CancelReason, staff: StaffContext) -> None:
    t, actions = staff.texts, await actions_of(staff)
    done = await actions.cancel(action.id, action.reason, query.from_user.id, staff.clock.now())
    if done is None:
        await query.answer(t("staff.already_done"), show_alert=True)
        return
    await query.answer()
    reason = t(f"staff.cancel_reason.{action.reason}")
    await show(query.message, OutMessage(t("staff.cancelled", reason=reason)))


async def on_move_ask(query: CallbackQuery, action: MoveAsk, staff: StaffContext) -> None:
    t = staff.texts
    appointment = await check_appointment(action.id, query.from_user.id, staff.owner_ids)
    if appointment is None or appointment.status not in MOVABLE:
        await query.answer(t("staff.already_done"), show_alert=True)
        return
    slots = await _next_slots(staff, appointment)
    await query.answer()
    if not slots:
        await show(query.message, OutMessage(t("staff.move_none")), edit=False)
        return
    buttons = keyboard(
        [(_slot_label(s, staff), MoveTo(action.id, s.master_id, s.start)) for s in slots]
    )
    await show(query.message, OutMessage(t("staff.move_ask", id=action.id), buttons), edit=False)


async def _next_slots(staff: StaffContext, appointment: Appointment) -> list[Slot]:
    await staff.catalog()  # the booker finds with today's lengths
    today = staff.clock.now().astimezone(staff.config.tz).date()
    horizon = today + dt.timedelta(days=staff.config.booking.horizon_days)
    page = await staff.booker.find(
        appointment.service_id,
        appointment.addon_ids,
        today,
        horizon,
        None,
        None,
        None,
        0,
        MOVE_CHOICES,
    )
    return list(page.slots)


def _slot_label(slot: Slot, staff: StaffContext) -> str:
    local = slot.start.astimezone(staff.config.tz)
    master = staff.config.master(slot.master_id)
    return f"{staff.texts.short_day(local.date())} {local:%H:%M} · {master.name if master else ''}"


async def on_move_to(query: CallbackQuery, action: MoveTo, staff: StaffContext) -> None:
    old = await appointment_of(action.id)
    if old is None or (await staff.catalog()).service(old.service_id) is None:
        await query.answer(staff.texts("staff.already_done"), show_alert=True)
        return
    slot = Slot(action.start, action.start + (old.end - old.start), action.master_id)
    actions = await actions_of(staff)
    try:
        new = await actions.move(action.id, slot, query.from_user.id, staff.clock.now())
    except SlotGone:
        await query.answer(staff.texts("staff.slot_gone"), show_alert=True)
        return
    if new is None:
        await query.answer(staff.texts("staff.already_done"), show_alert=True)
        return
    await query.answer()
    when = staff.texts.moment(new.start.astimezone(staff.config.tz))
    await show(query.message, OutMessage(staff.texts("staff.moved", when=when)))


def setup() -> Router:
    router = feature_router("staff-bookings", *LEAD_ROLES)
    cb = router.callback_query
    cb.register(on_confirm, pressed(Confirm))
    cb.register(on_cancel_ask, pressed(CancelAsk))
    cb.register(on_cancel_reason, pressed(CancelReason))
    cb.register(on_move_ask, pressed(MoveAsk))
    cb.register(on_move_to, pressed(MoveTo))
    return router
