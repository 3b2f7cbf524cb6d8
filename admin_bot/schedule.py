"""`/week` and `/today`: the schedule as the staff see it.

A master sees their own week and their own column of the day; owners and managers pick a
master with buttons (or `/week anna`) and see every master's column. Visits show the
service and the client's first name only. Blocked time comes from bot.booking.schedule_view.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from admin_bot.access import ALL_ROLES, HasRole
from admin_bot.context import StaffContext
from bot.booking.schedule_view import Block, DayPlan, day_columns, first_name, week_of
from bot.config import BusinessConfig, Master
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus, StaffMember, StaffRole
from bot.numbers.day_grid import day_grid_png
from bot.staffwork.staff import find_master

TOMORROW = ("завтра", "tomorrow")
TEXT_LIMIT = 4096  # Telegram's message length


class WeekOf(CallbackData, prefix="week"):
    """A master's week on the /week picker; the role is checked again on press."""

    master: str
    offset: int = 0  # weeks from this one


def _today(staff: StaffContext) -> dt.date:
    return staff.clock.now().astimezone(staff.config.tz).date()


def own_master(staff: StaffContext, member: StaffMember | None) -> Master | None:
    return staff.config.master(member.master_id) if member and member.master_id else None


def week_text(t: Texts, config: BusinessConfig, master: Master, plans: list[DayPlan]) -> str:
    tz, lines = config.tz, [t("schedule.week_title", master=master.name)]
    for plan in plans:
        hours = ", ".join(f"{i.start:%H:%M}–{i.end:%H:%M}" for i in plan.hours)
        lines.append("")
        lines.append(
            t("schedule.day_head", day=t.short_day(plan.day), hours=hours or t("schedule.off"))
        )
        items = [(v.start, _visit_line(t, v, tz, config)) for v in plan.visits]
        items += [(b.start, _block_line(t, b, tz)) for b in plan.blocks]
        lines += [text for _, text in sorted(items, key=lambda x: x[0])] or (
            [t("schedule.free_day")] if plan.hours else []
        )
    return _fit(t, lines)


def _fit(t: Texts, lines: list[str]) -> str:
    """Within Telegram's message limit: a very busy week ends with how many lines are left."""
    text = "\n".join(lines)
    if len(text) <= TEXT_LIMIT:
        return text
    kept: list[str] = []
    for i, line in enumerate(lines):
        tail = t("schedule.more", count=len(lines) - i)
        if len("\n".join([*kept, line, tail])) > TEXT_LIMIT:
            return "\n".join([*kept, tail])
        kept.append(line)
    return "\n".join(kept)


def _visit_line(t: Texts, visit: Appointment, tz: dt.tzinfo, config: BusinessConfig) -> str:
    service = config.service(visit.service_id)
    pending = visit.status is AppointmentStatus.PENDING
    return t(
        "schedule.visit_pending" if pending else "schedule.visit",
        start=f"{visit.start.astimezone(tz):%H:%M}",
        end=f"{visit.end.astimezone(tz):%H:%M}",
        service=service.title if service else visit.service_id,
        client=first_name(visit) or "—",
    )


def _block_line(t: Texts, block: Block, tz: dt.tzinfo) -> str:
    start, end = block.start.astimezone(tz), block.end.astimezone(tz)
    return t(
        "schedule.block",
        start=f"{start:%H:%M}",
        end=f"{end:%H:%M}",
        title=block.title or t("schedule.blocked"),
    )


def picker(staff: StaffContext, offset: int = 0) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(text=m.name, callback_data=WeekOf(master=m.id, offset=offset).pack())]
        for m in staff.config.masters
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def week_nav(master: Master, offset: int, t: Texts) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            text=t("schedule.btn_prev"),
            callback_data=WeekOf(master=master.id, offset=offset - 1).pack(),
        ),
        InlineKeyboardButton(
            text=t("schedule.btn_next"),
            callback_data=WeekOf(master=master.id, offset=offset + 1).pack(),
        ),
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def render_week(staff: StaffContext, master: Master, offset: int) -> str:
    first = _today(staff) + dt.timedelta(weeks=offset)
    plans = await week_of(staff.config, master, first)
    return week_text(staff.texts, staff.config, master, plans)


async def on_week(
    message: Message,
    command: CommandObject,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    t, query = staff.texts, (command.args or "").strip()
    if role is StaffRole.MASTER:  # their own week, whatever they typed
        master = own_master(staff, member)
    elif query:
        master = find_master(staff.config, query)
        if master is None:
            known = ", ".join(f"{m.name} ({m.id})" for m in staff.config.masters)
            await message.answer(t("schedule.unknown_master", query=query, known=known))
            return
    else:
        await message.answer(t("schedule.pick_master"), reply_markup=picker(staff))
        return
    if master is None:
        await message.answer(t("schedule.no_master"))
        return
    await message.answer(await render_week(staff, master, 0), reply_markup=week_nav(master, 0, t))


async def on_week_button(
    query: CallbackQuery,
    callback_data: WeekOf,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    """A master may page only through their own weeks; a forged id is refused."""
    t, master = staff.texts, staff.config.master(callback_data.master)
    own = own_master(staff, member)
    mine = own is not None and master is not None and own.id == master.id
    if master is None or (role is StaffRole.MASTER and not mine):
        await query.answer(t("team.no_access"), show_alert=True)
        return
    await query.answer()
    text = await render_week(staff, master, callback_data.offset)
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(
                text, reply_markup=week_nav(master, callback_data.offset, t)
            )


def parse_day(text: str, today: dt.date) -> dt.date | None:
    """«», «завтра», 2026-12-01 or 01.12 (this year) → a date; anything else → None."""
    word = text.strip().casefold()
    if not word:
        return today
    if word in TOMORROW:
        return today + dt.timedelta(days=1)
    with contextlib.suppress(ValueError):
        return dt.date.fromisoformat(word)
    with contextlib.suppress(ValueError):
        day, month = (int(p) for p in word.split("."))
        return dt.date(today.year, month, day)
    return None


async def on_today(
    message: Message,
    command: CommandObject,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    t = staff.texts
    day = parse_day(command.args or "", _today(staff))
    if day is None:
        await message.answer(t("schedule.bad_day"))
        return
    if role is StaffRole.MASTER:
        own = own_master(staff, member)
        masters = [own] if own else []
    else:
        masters = list(staff.config.masters)
    columns = await day_columns(staff.config, masters, day, t("schedule.blocked"))
    title = t("schedule.today_title", day=t.day(day))
    png = await asyncio.to_thread(day_grid_png, title, columns, t("schedule.no_masters"))
    visits = sum(1 for c in columns for b in c.boxes if b.kind != "block")
    caption = t("schedule.today_caption", day=t.day(day), visits=visits)
    await message.answer_photo(BufferedInputFile(png, f"schedule-{day}.png"), caption=caption)
    if day == _today(staff):  # and today's list as text, as before (names to copy, statuses)
        from admin_bot import views

        await views.on_today(message, staff, role, member)


def schedule_router() -> Router:
    """/week and /today for every staff role; what each role sees is decided per handler."""
    router = Router(name="staff-schedule")
    anyone = HasRole(*ALL_ROLES)
    router.message.filter(anyone)
    router.callback_query.filter(anyone)
    router.message.register(on_week, Command("week"))
    router.message.register(on_today, Command("today"))
    router.callback_query.register(on_week_button, WeekOf.filter())
    return router
