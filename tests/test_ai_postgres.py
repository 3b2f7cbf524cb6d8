"""The AI tables and queries on PostgreSQL (the session's server, see conftest)."""

from __future__ import annotations

from bot.ai import staff_q, usage
from bot.i18n import Texts
from bot.models import Lead
from tests.ai_helpers import AiChat, ai_dialogs
from tests.test_postgres import pg  # noqa: F401 (fixture)


async def test_usage_intel_and_staff_questions(pg, config, clock):  # noqa: F811
    await usage.record("2026-11", "understand", (100, 20), failed=False)
    await usage.record("2026-11", "understand", (50, 10), failed=True)
    (row,) = await usage.month_usage("2026-11")
    assert (row.calls, row.failures, row.prompt_tokens, row.completion_tokens) == (2, 1, 150, 30)
    chat = await AiChat(ai_dialogs(config, clock, None)).consented()
    await chat.say("педикюр завтра после 5")
    lead = await Lead.get()
    assert (lead.ai_intent, lead.ai_warmth) == ("booking", "warm")
    text = await staff_q.answer(
        "неявки у Анны на этой неделе", True, config, Texts("ru"), clock.now(), None
    )
    assert text == "Неявок — эта неделя (Анна): 0"
