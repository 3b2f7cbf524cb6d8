"""Staff bot: the owner's deposits — /deposits lists the newest paid or kept ones, each with
«Вернуть» (a typed payload; the role is re-checked in the service on every press)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from admin_bot.buttons import feature_router, keyboard, pressed, show
from admin_bot.context import StaffContext
from bot.delivery.outbox import Message as OutMessage
from bot.models import StaffRole
from bot.payments.staff_refunds import check_owner, owner_refund, refundable
from bot.staffwork.actions import RefundDeposit
from handlers.telegram_outbox import markup


async def on_deposits(message: Message, staff: StaffContext) -> None:
    t = staff.texts
    await check_owner(message.from_user.id, staff.owner_ids)
    rows = await refundable()
    if not rows:
        await message.answer(t("payments.staff.none"))
        return
    lines, buttons = [t("payments.staff.title")], []
    for d in rows:
        when = t.moment(d.start.astimezone(staff.config.tz)) if d.start else "—"
        amount = t.money(d.amount_kop)
        lines.append(t("payments.staff.line", id=d.id, when=when, amount=amount, status=d.status))
        buttons.append(
            (t("payments.staff.btn_refund", id=d.id, amount=amount), RefundDeposit(d.id))
        )
    out = OutMessage("\n".join(lines), keyboard(buttons))
    await message.answer(out.text, reply_markup=markup(out.payload()["buttons"]))


async def on_refund(query: CallbackQuery, action: RefundDeposit, staff: StaffContext) -> None:
    t = staff.texts
    done = await owner_refund(action.id, query.from_user.id, staff.owner_ids, t, staff.clock.now())
    await query.answer()
    key = "payments.staff.refund_queued" if done else "payments.staff.refund_not_possible"
    await show(query.message, OutMessage(t(key, id=action.id)))


def deposits_router() -> Router:
    """Owners only (the filter on the router; the service checks again). Before refusal."""
    router = feature_router("staff-deposits", StaffRole.OWNER)
    router.message.register(on_deposits, Command("deposits"))
    router.callback_query.register(on_refund, pressed(RefundDeposit))
    return router
