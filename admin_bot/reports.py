"""Staff-bot report commands: /kpi, /staff, /sources, /funnel, /lost, each with a period.

Who sees what (checked in the database on every use through `HasRole`):
- owners: every command, everyone's lines;
- managers: /kpi, /sources, /funnel, /lost (business-wide figures they work on), and in
  /staff only their own line;
- masters: /staff with only their own line.
Anything else falls through to the refusal router: «not allowed» plus the role's help for
members, the one-time refusal for strangers. Presentation only: texts come from bot/numbers/reports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from admin_bot.access import HasRole
from admin_bot.context import StaffContext, arg_of
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.models import StaffMember, StaffRole
from bot.numbers import reports
from bot.periods import Span, local_today, parse_span

OWNER, MANAGER, MASTER = StaffRole.OWNER, StaffRole.MANAGER, StaffRole.MASTER
Report = Callable[[BusinessConfig, Texts, Span], Awaitable[str]]


async def _span(message: Message, command: CommandObject, staff: StaffContext) -> Span | None:
    """The period asked for, or None after a polite answer listing the accepted forms."""
    text = arg_of(command)
    span = parse_span(text, local_today(staff.config, staff.clock.now()))
    if span is None:
        await message.answer(staff.texts("reports.bad_period", text=text[:40]))
    return span


def _business_report(report: Report):
    async def handler(message: Message, command: CommandObject, staff: StaffContext) -> None:
        span = await _span(message, command, staff)
        if span is not None:
            await message.answer(await report(staff.config, staff.texts, span))

    return handler


async def on_staff_report(
    message: Message,
    command: CommandObject,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    """Owners: everyone. A manager: their own line; a master: their own master's line."""
    span = await _span(message, command, staff)
    if span is None:
        return
    who: dict = {"everyone": role is OWNER}
    if role is MANAGER and message.from_user is not None:
        who["manager_id"] = message.from_user.id
    if role is MASTER and member is not None:
        who["master_id"] = member.master_id
    await message.answer(await reports.staff_text(staff.config, staff.texts, span, **who))


def reports_router() -> Router:
    """Include it after the lead router and before `refusal_router()`."""
    router = Router(name="staff-reports")
    msg = router.message
    business = HasRole(OWNER, MANAGER)
    msg.register(_business_report(reports.kpi_text), Command("kpi"), business)
    msg.register(_business_report(reports.sources_text), Command("sources"), business)
    msg.register(_business_report(reports.funnel_text), Command("funnel"), business)
    msg.register(_business_report(reports.lost_text), Command("lost"), business)
    msg.register(on_staff_report, Command("staff"), HasRole(OWNER, MANAGER, MASTER))
    return router
