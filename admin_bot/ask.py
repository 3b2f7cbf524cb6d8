"""Staff questions about the numbers, and the owner's /ai (the month's model use)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from admin_bot.access import HasRole
from admin_bot.context import StaffContext
from bot.ai import staff_q, usage
from bot.models import StaffRole


async def answer_staff_question(message: Message, staff: StaffContext, role: StaffRole) -> bool:
    """Answer a plain-text question about a KPI; False when it is not one (then the
    caller explains the relay). Only owners and managers get here (role checked)."""
    if role not in (StaffRole.OWNER, StaffRole.MANAGER) or not message.text:
        return False
    text = await staff_q.answer(
        message.text,
        role == StaffRole.OWNER,
        staff.config,
        staff.texts,
        staff.clock.now(),
        staff.extra.get("ai"),
    )
    if text is None:
        return False
    await message.answer(text)
    return True


async def on_ai_usage(message: Message, staff: StaffContext) -> None:
    """/ai — the month's model calls and tokens per purpose (owners only)."""
    t = staff.texts
    month = staff.clock.now().astimezone(staff.config.tz).strftime("%Y-%m")
    rows = await usage.month_usage(month)
    lines = [] if staff.extra.get("ai") else [t("ai.usage.off")]
    if not rows:
        lines.append(t("ai.usage.none", month=month))
    else:
        lines.append(t("ai.usage.title", month=month))
        lines += [
            t(
                "ai.usage.line",
                purpose=t(f"ai.purpose.{r.purpose}"),
                calls=r.calls,
                failures=r.failures,
                prompt=r.prompt_tokens,
                completion=r.completion_tokens,
            )
            for r in rows
        ]
    await message.answer("\n".join(lines))


def ai_router() -> Router:
    router = Router(name="staff-ai")
    router.message.register(on_ai_usage, Command("ai"), HasRole(StaffRole.OWNER))
    return router
