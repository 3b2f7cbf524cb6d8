"""Score the coach's dialogue review on tests/data/coach_eval.jsonl: the rules, and a model.

    python bench/coach_eval.py            # rules only (the baseline)
    OPENAI_API_KEY=… [OPENAI_BASE_URL=… OPENAI_MODEL=… OPENAI_TIMEOUT=…] python bench/coach_eval.py

Prints, for the whole set and for the 10 held-out dialogues (never used to tune the rules),
the accuracy per field — each script step, the whole set of steps, price before need, the
client's tone — and the median latency per dialogue; the rules are measured in the same run
as the model's baseline. A dialogue with a health detail is never sent: the model's row
scores the rules' answer for it, as production would. Token use is printed from a throwaway
SQLite database.
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

from bot.ai.factory import model_client  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.coach.evaluate import load_cases, score  # noqa: E402
from bot.coach.model_review import Reviewer  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.i18n import Texts  # noqa: E402
from bot.models import AiUsage  # noqa: E402
from bot.settings import load_settings  # noqa: E402


class Timed(Reviewer):
    """The reviewer, with each dialogue's latency noted."""

    latencies: list[float]

    async def review(self, d):  # type: ignore[override]
        started = time.perf_counter()
        try:
            return await super().review(d)
        finally:
            self.latencies.append((time.perf_counter() - started) * 1000)


async def run(name: str, reviewer: Timed, cases: list[dict]) -> None:
    for label, chosen in (("all", cases), ("held out", [c for c in cases if c.get("held_out")])):
        reviewer.latencies = []
        result = await score(chosen, reviewer)
        median = statistics.median(reviewer.latencies)
        print(f"{name:<26} {label:<9} {result.line()}   median {median:8.2f} ms/dialogue")
        if label == "all":
            for miss in result.misses:
                print(f"    miss {miss}")


async def scan_cost(config, texts: Texts, count: int = 100) -> None:
    """The timed work's coach scan on `count` finished dialogues (20 per scan, rules), next to
    the same scan once all are reviewed (the idle cost every 30 s), in a throwaway SQLite."""
    import datetime as dt

    from bot.coach.review import review_finished
    from bot.models import LeadStatus
    from tests.coach_data import GOOD, PRICE_FIRST, START, dialogue_lead

    with tempfile.TemporaryDirectory() as tmp:
        await init_db(f"sqlite://{tmp}/scan.sqlite3")
        try:
            for n in range(count):
                turns = GOOD if n % 2 else PRICE_FIRST
                await dialogue_lead(n, 7001 + n % 3, turns, LeadStatus.LOST)
            now, reviewer, stored, started = (
                START + dt.timedelta(hours=1),
                Reviewer(config, texts),
                0,
                time.perf_counter(),
            )
            scans = 0
            while stored < count:
                stored += await review_finished(reviewer, config, texts, now)
                scans += 1
            busy = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            for _ in range(10):
                await review_finished(reviewer, config, texts, now)
            idle = (time.perf_counter() - started) * 100
            print(
                f"scan: {count} dialogues reviewed and stored in {scans} scans, "
                f"{busy / count:.2f} ms/dialogue; idle scan (all reviewed, baseline) {idle:.2f} ms"
            )
        finally:
            await close_db()


async def main() -> None:
    settings = load_settings()
    config = load_config(settings.business_config)
    texts = Texts(config.business.locale)
    cases = load_cases(ROOT / "tests" / "data" / "coach_eval.jsonl")
    held = sum(c.get("held_out", False) for c in cases)
    print(f"{len(cases)} dialogues ({held} held out), script: {', '.join(config.coach.step_ids)}")
    await run("rules (baseline)", Timed(config, texts), cases)
    await scan_cost(config, texts)
    client = model_client(settings, config, SystemClock())
    if client is None:
        print(f"{'model':<26} not measured here: no key (set OPENAI_API_KEY)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        await init_db(f"sqlite://{tmp}/eval.sqlite3")
        try:
            await run(f"model {settings.openai_model}", Timed(config, texts, client), cases)
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
