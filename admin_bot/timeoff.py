"""Staff bot: changing a master's time (/block, /dayoff, /sick, /vacation, /shift), undoing it
(/overrides), and the managers' call list of displaced visits nobody answered (/calls).

A change that displaces visits is shown with the list first and stored only on «Да»; then
each client is asked through the outbox (bot.booking.reshuffle). Refusals are `Refused` exceptions,
answered politely by the refusal router.
"""

from __future__ import annotations

import datetime as dt

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from admin_bot.access import ALL_ROLES, HasRole
from admin_bot.context import StaffContext
from bot.booking import reshuffle
from bot.booking.schedule import Change, add_override, preview, undo_override
from bot.booking.schedule_input import COMMANDS, read_change
from bot.models import StaffMember, StaffRole
from bot.schedule_models import OverrideKind, ScheduleOverride
from bot.staffwork import drafts as staff_drafts
from handlers.telegram_filters import private_chat

DRAFT = "schedule"
LIST_LIMIT = 15  # overrides shown by /overrides, nearest first
MANAGERS = (StaffRole.OWNER, StaffRole.MANAGER)


class ConfirmChange(CallbackData, prefix="sch_ok"):
    """«Да, изменить» / «Не менять» under a change that displaces visits (the draft is stored)."""

    go: bool


class UndoChange(CallbackData, prefix="sch_undo"):
    override_id: int


def line(staff: StaffContext, row: ScheduleOverride | Change, override_id: int | str = "") -> str:
    t, tz = staff.texts, staff.config.tz
    master = staff.config.master(row.master_id)
    start, end = row.start.astimezone(tz), row.end.astimezone(tz)
    return t(
        "schedule.line",
        id=override_id or getattr(row, "id", ""),
        kind=t(f"schedule.kind.{OverrideKind(row.kind).value}"),
        master=master.name if master else row.master_id,
        start=t.moment(start),
        end=f"{end:%H:%M}" if end.date() == start.date() else t.moment(end),
        reason=f" ({row.reason})" if row.reason else "",
    )


def _undo_kb(staff: StaffContext, override_id: int) -> InlineKeyboardMarkup:
    text = staff.texts("schedule.btn_undo", id=override_id)
    data = UndoChange(override_id=override_id).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)]]
    )


async def on_change(
    message: Message,
    command: CommandObject,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    """Read the change; store it at once unless it displaces visits (then ask first)."""
    now, t = staff.clock.now(), staff.texts
    own = member.master_id if member is not None and role is StaffRole.MASTER else None
    kind = COMMANDS[command.command]
    change = read_change(staff.config, kind, command.args or "", own, now)
    visits = await preview(staff.config, change, role, member, now)
    if visits:
        await staff_drafts.save(DRAFT, message.from_user.id, _dump(change), now)
        lines = [await reshuffle.visit_line(staff.config, t, v) for v in visits]
        buttons = [
            InlineKeyboardButton(
                text=t("schedule.btn_confirm"), callback_data=ConfirmChange(go=True).pack()
            ),
            InlineKeyboardButton(
                text=t("schedule.btn_abort"), callback_data=ConfirmChange(go=False).pack()
            ),
        ]
        text = t("schedule.confirm", count=len(visits), lines="\n".join(lines))
        await message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons]))
        return
    await _apply(message, staff, change, role, member)


async def on_confirm(
    query: CallbackQuery,
    callback_data: ConfirmChange,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    user_id = query.from_user.id
    draft = await staff_drafts.load(DRAFT, user_id, staff.clock.now())
    if draft is None or not await staff_drafts.clear(DRAFT, user_id):
        await query.answer(staff.texts("schedule.expired"), show_alert=True)
        return
    await query.answer()
    if not callback_data.go:
        await query.message.answer(staff.texts("schedule.aborted"))
        return
    await _apply(query.message, staff, _load(draft), role, member, user_id)


async def _apply(
    message: Message,
    staff: StaffContext,
    change: Change,
    role: StaffRole,
    member: StaffMember | None,
    actor_id: int | None = None,
) -> None:
    """Store the change; ask every displaced client (read after the commit, so a booking that
    raced in is among them)."""
    actor = actor_id or message.from_user.id
    row, displaced = await add_override(
        staff.config, change, actor, role, member, staff.clock.now()
    )
    t = staff.texts
    await message.answer(
        t("schedule.done", line=line(staff, row)), reply_markup=_undo_kb(staff, row.id)
    )
    if displaced:
        asked = await reshuffle.ask_clients(staff.booker, t, staff.owner_ids, row.id, displaced)
        await message.answer(t("schedule.asked", asked=asked, flagged=len(displaced) - asked))


async def on_undo(
    query: CallbackQuery,
    callback_data: UndoChange,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    row = await undo_override(
        callback_data.override_id,
        query.from_user.id,
        role,
        member,
        staff.clock.now(),
        config=staff.config,
    )
    await query.answer()
    await query.message.answer(staff.texts("schedule.undone", line=line(staff, row)))


async def on_list(
    message: Message, staff: StaffContext, role: StaffRole, member: StaffMember | None
) -> None:
    """Active changes from now on (a master sees their own), each with its undo button."""
    masters = [m.id for m in staff.config.masters]
    if role is StaffRole.MASTER:
        masters = [member.master_id] if member and member.master_id else []
    rows = (
        await ScheduleOverride.filter(
            master_id__in=masters, undone_at__isnull=True, end__gt=staff.clock.now()
        )
        .order_by("start")
        .limit(LIST_LIMIT)
    )
    if not rows:
        await message.answer(staff.texts("schedule.list_empty"))
        return
    await message.answer(staff.texts("schedule.list_title"))
    for row in rows:
        await message.answer(line(staff, row), reply_markup=_undo_kb(staff, row.id))


async def on_calls(message: Message, staff: StaffContext) -> None:
    """The managers' call list: displaced visits whose clients never answered."""
    t = staff.texts
    visits = await reshuffle.flagged_visits()
    if not visits:
        await message.answer(t("reshuffle.calls_empty"))
        return
    lines = [await reshuffle.visit_line(staff.config, t, v) for v in visits]
    await message.answer("\n".join([t("reshuffle.calls_title"), *lines]))


def _dump(change: Change) -> dict:
    return {
        "master_id": change.master_id,
        "kind": change.kind.value,
        "start": change.start.isoformat(),
        "end": change.end.isoformat(),
        "reason": change.reason,
    }


def _load(data: dict) -> Change:
    return Change(
        data["master_id"],
        OverrideKind(data["kind"]),
        dt.datetime.fromisoformat(data["start"]),
        dt.datetime.fromisoformat(data["end"]),
        data.get("reason"),
    )


def timeoff_router() -> Router:
    """Every handler needs a staff role now; /calls only owners and managers."""
    router = Router(name="staff-schedule")
    router.message.filter(private_chat, HasRole(*ALL_ROLES))
    router.callback_query.filter(HasRole(*ALL_ROLES))
    router.message.register(on_change, Command(*COMMANDS))
    router.message.register(on_list, Command("overrides"))
    router.message.register(on_calls, Command("calls"), HasRole(*MANAGERS))
    router.callback_query.register(on_confirm, ConfirmChange.filter())
    router.callback_query.register(on_undo, UndoChange.filter())
    return router
