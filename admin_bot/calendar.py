"""`/calendar`: a master's own calendar feed link, a new one, or none (`revoke`).

The link is shown once, when it is made: only its hash is stored, so a master who lost it
asks for a new one (the old stops working). Masters only: a feed is one master's visits.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from admin_bot.access import HasRole
from admin_bot.context import StaffContext
from bot.booking.calendar_feed import active_token, issue_token, revoke_tokens
from bot.models import StaffMember, StaffRole

log = logging.getLogger("priyom.staff.calendar")
DEFAULT_BASE = "http://localhost:8080"  # PUBLIC_BASE_URL unset: the local server


def feed_url(staff: StaffContext, token: str) -> str:
    base = (staff.extra.get("public_base_url") or DEFAULT_BASE).rstrip("/")
    return f"{base}/calendar/{token}.ics"


async def on_calendar(
    message: Message, command: CommandObject, staff: StaffContext, member: StaffMember | None
) -> None:
    t, now = staff.texts, staff.clock.now()
    if member is None or not member.master_id:
        await message.answer(t("calendar.masters_only"))
        return
    master_id, word = member.master_id, (command.args or "").strip().casefold()
    if word in ("revoke", "отозвать", "off"):
        revoked = await revoke_tokens(master_id, now)
        await message.answer(t("calendar.revoked" if revoked else "calendar.none"))
        log.info("calendar_revoked", extra={"master": master_id, "count": revoked})
        return
    existing = await active_token(master_id)
    if existing is not None and word not in ("new", "новая", "новый"):
        since = t.moment(existing.created_at.astimezone(staff.config.tz))
        await message.answer(t("calendar.exists", since=since))
        return
    token = await issue_token(master_id, member.telegram_id, now)
    await message.answer(t("calendar.link", url=feed_url(staff, token)))
    log.info("calendar_issued", extra={"master": master_id, "replaced": existing is not None})


def calendar_router() -> Router:
    router = Router(name="staff-calendar")
    router.message.filter(HasRole(StaffRole.MASTER, StaffRole.OWNER, StaffRole.MANAGER))
    router.message.register(on_calendar, Command("calendar"))
    return router
