"""Lead intelligence for the staff card: intent, warmth and a one-line summary.

A model's judgement is used when one was given and validated; otherwise the rules read the
dialogue's progress (a chosen slot is hot, a chosen service warm, nothing chosen cold).
"""

from __future__ import annotations

from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.models import Lead
from scenarios.state import DialogState, Step
from scenarios.types import Intent, Understanding

_HOT_STEPS = (Step.SLOT, Step.CONTACT, Step.NAME, Step.SUMMARY)
WARMTHS = ("hot", "warm", "cold")


def warmth(state: DialogState, intent: str) -> str:
    if state.start or state.step in _HOT_STEPS:
        return "hot"
    if state.service_id or intent in (Intent.BOOKING, Intent.PRICE):
        return "warm"
    return "cold"


def summary(state: DialogState, config: BusinessConfig, t: Texts) -> str:
    """«Маникюр + Покрытие гель-лак · сб 28.11 13:00» from the stored state."""
    service = config.service(state.service_id or "")
    if service is None:
        return t("ai.summary.nothing")
    titles = [service.title] + [a.title for a in service.addons if a.id in state.addon_ids]
    parts = [" + ".join(titles)]
    wish = state.time_wish
    if wish is not None:
        days = t.short_day(wish.day_from)
        if wish.day_to != wish.day_from:
            days += f"–{t.short_day(wish.day_to)}"
        when = wish.exact or wish.after
        parts.append(days + (f" {when:%H:%M}" if when else ""))
    return " · ".join(parts)  # no step in it: the lead is written only when this changes


def lead_intel(
    state: DialogState, u: Understanding | None, config: BusinessConfig, t: Texts
) -> list[str]:
    """[intent, warmth, summary]; an earlier non-trivial intent is kept over «other»."""
    previous = state.intel or [Intent.OTHER.value, "", ""]
    intent = u.intent.value if u is not None else previous[0]
    if intent == Intent.OTHER and previous[0] != Intent.OTHER:
        intent = previous[0]
    if intent == Intent.OTHER and state.service_id:
        intent = Intent.BOOKING.value
    # The hotter of the model's judgement and the dialogue's progress.
    judged = [u.warmth] if u is not None and u.warmth else []
    heat = min([warmth(state, intent), *judged], key=WARMTHS.index)
    line = (u.summary if u is not None and u.summary else None) or summary(state, config, t)
    return [intent, heat, line[:160]]


async def save(lead_id: int, intel: list[str]) -> None:
    intent, heat, line = intel
    await Lead.filter(id=lead_id).update(ai_intent=intent, ai_warmth=heat, ai_summary=line)


def card_line(lead: Lead, t: Texts) -> str | None:
    """The card's 🧠 line, when the lead has intelligence."""
    if not lead.ai_intent:
        return None
    return t(
        "ai.card_line",
        intent=t(f"ai.intent.{lead.ai_intent}"),
        warmth=t(f"ai.warmth.{lead.ai_warmth or 'cold'}"),
        summary=lead.ai_summary or "—",
    )
