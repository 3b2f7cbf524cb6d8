"""`/forget <phone>`: an owner erases a client's data at the client's request (152-FZ).

For clients who have no chat to send /forget from (forms, calls, staff bookings) or who ask
by phone. The command shows what would go; «Удалить» does it (bot.staffwork.erase_request),
with the role and the number re-checked at the press. Owners only: the role filter is on
the router, and the service checks again.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from admin_bot.buttons import OWNER, feature_router
from admin_bot.context import StaffContext, arg_of
from bot.staffwork import erase_request
from scenarios.parsing import normalize_phone

MAX_NOTICE = 200  # Telegram's limit on a callback answer's text


class Forget(CallbackData, prefix="forget_ok"):
    """«Удалить» / «Не удалять» under the preview; the number as digits (≤ 15)."""

    digits: str
    go: bool


def _phone(digits: str) -> str | None:
    """The E.164 number a button carried, re-read as any typed number is; None if forged."""
    ok = digits.isascii() and digits.isdigit() and len(digits) <= 15
    return normalize_phone("+" + digits) if ok else None


def _keyboard(staff: StaffContext, phone: str) -> InlineKeyboardMarkup:
    t, digits = staff.texts, phone.lstrip("+")
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t("erasure.btn_yes"), callback_data=Forget(digits=digits, go=True).pack()
                ),
                InlineKeyboardButton(
                    text=t("erasure.btn_no"), callback_data=Forget(digits=digits, go=False).pack()
                ),
            ]
        ]
    )


async def on_forget(message: Message, command: CommandObject, staff: StaffContext) -> None:
    t, typed = staff.texts, arg_of(command)
    if not typed:
        await message.answer(t("erasure.usage"))
        return
    phone = normalize_phone(typed)
    if phone is None:
        await message.answer(t("erasure.bad_phone", text=typed[:40]))
        return
    found = await erase_request.find(phone, staff.clock.now())
    if found.empty:
        await message.answer(t("erasure.nobody", phone=phone))
        return
    text = t(
        "erasure.preview",
        phone=phone,
        clients=len(found.clients),
        chats=len(found.chats),
        upcoming=found.upcoming,
    )
    await message.answer(text, reply_markup=_keyboard(staff, phone))


async def on_press(query: CallbackQuery, callback_data: Forget, staff: StaffContext) -> None:
    t, phone = staff.texts, _phone(callback_data.digits)
    if phone is None or not callback_data.go:
        await _close(query, t("erasure.kept"))
        return
    found = await erase_request.erase_phone(
        phone, query.from_user.id, staff.owner_ids, staff.booker, staff.clock.now()
    )
    if found.empty:
        await _close(query, t("erasure.gone"))
        return
    await _close(
        query,
        t(
            "erasure.done",
            phone=phone,
            clients=len(found.clients),
            chats=len(found.chats),
            upcoming=found.upcoming,
        ),
    )


async def _close(query: CallbackQuery, text: str) -> None:
    """The answer replaces the preview, so the buttons cannot be pressed twice; a press
    with no message to edit (an old or forged one) is answered in a notice."""
    if isinstance(query.message, Message):
        await query.answer()
        await query.message.edit_text(text)
    else:
        await query.answer(text[:MAX_NOTICE])


def forget_router() -> Router:
    router = feature_router("forget", OWNER)
    router.message.register(on_forget, Command("forget"))
    router.callback_query.register(on_press, Forget.filter())
    return router
