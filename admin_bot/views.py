"""Staff bot: what a person looks at — /leads, /today and a lead's dialogue (the button)."""

from __future__ import annotations

import datetime as dt

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from admin_bot.buttons import ALL_ROLES, LEAD_ROLES, MASTER, feature_router, pressed, show
from admin_bot.context import StaffContext
from bot.delivery.outbox import Message as OutMessage
from bot.i18n import Texts
from bot.models import Lead, StaffMember, StaffRole
from bot.staffwork.access import check_lead_id
from bot.staffwork.actions import Dialog
from bot.staffwork.desk import day_visits, dialog_rows, open_leads

DIALOG_LINES = 15


async def on_dialog(query: CallbackQuery, action: Dialog, staff: StaffContext) -> None:
    await check_lead_id(action.id, query.from_user.id, staff.owner_ids)
    t = staff.texts
    lines = [
        t(
            "staff.dialog_line",
            who=t(f"staff.author.{r.author.partition(':')[0]}"),
            text=(r.text or "")[:300],
        )
        for r in await dialog_rows(action.id, DIALOG_LINES)
    ]
    await query.answer()
    body = "\n".join(lines) or t("staff.dialog_empty")
    title = t("staff.dialog_title", id=action.id)
    await show(query.message, OutMessage(title + "\n" + body[:3800]), edit=False)


async def on_leads(message: Message, staff: StaffContext) -> None:
    t, now = staff.texts, staff.clock.now()
    mine, unclaimed = await open_leads(message.from_user.id)
    if not mine and not unclaimed:
        await message.answer(t("staff.leads_none"))
        return
    lines = [t("staff.leads_title")] + [_lead_line(x, t, now) for x in mine]
    if unclaimed:
        lines += [t("staff.leads_unclaimed")] + [_lead_line(x, t, now) for x in unclaimed]
    await message.answer("\n".join(lines))


def _lead_line(lead: Lead, t: Texts, now: dt.datetime) -> str:
    age = int((now - lead.created_at).total_seconds() // 60)
    return t(
        "staff.lead_line",
        id=lead.id,
        status=t(f"staff.status.{lead.status}"),
        age=age,
        name=(lead.client and lead.client.name) or "—",
    )


async def on_today(
    message: Message, staff: StaffContext, role: StaffRole, member: StaffMember | None
) -> None:
    t, config = staff.texts, staff.config
    local_now = staff.clock.now().astimezone(config.tz)
    start = dt.datetime.combine(local_now.date(), dt.time(0), tzinfo=config.tz)
    mine = (member.master_id if member else "") if role == MASTER else None
    visits = await day_visits(start, mine)
    if not visits:
        await message.answer(t("staff.today_empty"))
        return
    lines = [t("staff.today_title", day=t.day(local_now.date()))]
    current = None
    for visit in visits:
        if visit.master_id != current:
            current = visit.master_id
            master = config.master(current)
            lines.append(t("staff.today_master", master=master.name if master else current))
        service = config.service(visit.service_id)
        lines.append(
            t(
                "staff.today_line",
                time=f"{visit.start.astimezone(config.tz):%H:%M}",
                service=service.title if service else visit.service_id,
                client=(visit.client and visit.client.name) or "—",
                state=t(f"staff.appt.{visit.status}"),
            )
        )
    await message.answer("\n".join(lines))


def setup() -> Router:
    """The lead lists for the lead's people; the day's schedule for every member."""
    router = Router(name="staff-views")
    leads = feature_router("staff-lead-views", *LEAD_ROLES)
    leads.message.register(on_leads, Command("leads"))
    leads.callback_query.register(on_dialog, pressed(Dialog))
    day = feature_router("staff-day", *ALL_ROLES)
    day.message.register(on_today, Command("today"))
    router.include_routers(leads, day)
    return router
