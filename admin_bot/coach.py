"""Staff bot: `/coach <manager>` — one manager's dialogue reviews for the owner.

Owners only: the role filter sits on the router, and the service (bot/coach/on_demand.py)
checks the role again. Managers get their own tips and weekly summary through the outbox,
never this command; masters get nothing of the coach.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from admin_bot.buttons import OWNER, feature_router
from admin_bot.context import StaffContext, arg_of
from bot.coach.on_demand import coach_report
from bot.numbers.reports import MAX_TEXT
from bot.periods import local_today


async def on_coach(message: Message, command: CommandObject, staff: StaffContext) -> None:
    today = local_today(staff.config, staff.clock.now())
    text = await coach_report(
        staff.config, staff.texts, message.from_user.id, staff.owner_ids, arg_of(command), today
    )
    await message.answer(text[:MAX_TEXT])


def setup() -> Router:
    router = feature_router("staff-coach", OWNER)
    router.message.register(on_coach, Command("coach"))
    return router
