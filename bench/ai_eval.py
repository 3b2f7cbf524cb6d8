"""Score free-text understanding on tests/data/ai_eval.jsonl: the rules, and a real model.

    python bench/ai_eval.py            # rules only (the baseline)
    OPENAI_API_KEY=… [OPENAI_BASE_URL=… OPENAI_MODEL=…] python bench/ai_eval.py

Prints accuracy per field (service, time window, name, intent) and the median latency per
message for each path, the rules measured in the same run as the model's baseline. Token
use of the model run is recorded in a throwaway SQLite database and printed.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.ai.evaluate import load_cases, score  # noqa: E402
from bot.ai.factory import assistant, model_client  # noqa: E402
from bot.ai.understand import Assistant  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.i18n import Texts  # noqa: E402
from bot.models import AiUsage  # noqa: E402
from bot.settings import load_settings  # noqa: E402


async def run(name: str, helper: Assistant, cases: list[dict], tz) -> None:
    latencies: list[float] = []

    async def understand(text, now):
        started = time.perf_counter()
        try:
            return await helper.understand(text, "service", now)
        finally:
            latencies.append((time.perf_counter() - started) * 1000)

    result = await score(cases, understand, tz)
    print(f"{name:<24} {result.line()}   median {statistics.median(latencies):7.1f} ms/message")
    for miss in result.misses:
        print(f"    miss {miss}")


async def main() -> None:
    settings = load_settings(ai_knowledge_file=ROOT / "examples" / "salon_faq.md")
    config = load_config(settings.business_config)
    texts = Texts(config.business.locale)
    cases = load_cases(ROOT / "tests" / "data" / "ai_eval.jsonl")
    print(f"{len(cases)} messages, now = Mon 2026-11-23 10:00 {config.business.timezone}")
    await run("rules (baseline)", assistant(settings, config, texts, None), cases, config.tz)
    client = model_client(settings, config, SystemClock())
    if client is None:
        print(f"{'model':<24} not measured here: no key (set OPENAI_API_KEY)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        await init_db(f"sqlite://{tmp}/eval.sqlite3")
        try:
            helper = assistant(settings, config, texts, client)
            await run(f"model {settings.openai_model}", helper, cases, config.tz)
            for row in await AiUsage.all():
                print(
                    f"    tokens: {row.prompt_tokens} prompt + {row.completion_tokens} "
                    f"completion in {row.calls} calls, {row.failures} failed (fell back to rules)"
                )
        finally:
            await client.close()
            await close_db()


if __name__ == "__main__":
    asyncio.run(main())
