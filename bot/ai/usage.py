"""Token use per month: one counter row per (month, purpose), bumped by a single UPDATE."""

from __future__ import annotations

import logging

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from bot.models import AiUsage

log = logging.getLogger("priyom.ai")


async def record(month: str, purpose: str, tokens: tuple[int, int], failed: bool) -> None:
    """Count one call. Its own short write, never inside a client's transaction."""
    bump = {
        "calls": F("calls") + 1,
        "failures": F("failures") + int(failed),
        "prompt_tokens": F("prompt_tokens") + tokens[0],
        "completion_tokens": F("completion_tokens") + tokens[1],
    }
    try:
        if await AiUsage.filter(month=month, purpose=purpose).update(**bump):
            return
        try:
            await AiUsage.create(
                month=month,
                purpose=purpose,
                calls=1,
                failures=int(failed),
                prompt_tokens=tokens[0],
                completion_tokens=tokens[1],
            )
        except IntegrityError:  # created by a concurrent call a moment ago
            await AiUsage.filter(month=month, purpose=purpose).update(**bump)
    except Exception:  # counting must never break an answer
        log.exception("ai_usage_not_recorded", extra={"purpose": purpose})


async def month_usage(month: str) -> list[AiUsage]:
    return await AiUsage.filter(month=month).order_by("purpose")
