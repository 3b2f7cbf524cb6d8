"""Scoring a dialogue reviewer on the evaluation set (tests/data/coach_eval.jsonl).

Each line is a Russian manager–client dialogue with hand labels: the script steps the
manager did (the default script: greeting, need, slot, close), whether the price came before
any question about the need, and the client's tone. Turns are placed a minute apart in
working hours. Fields: `step` — each (dialogue, step) pair right; `steps` — the whole set
right; `price_first`; `tone`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.coach.dialogue import Dialogue, Turn
from bot.coach.model_review import Reviewer
from bot.models import LeadStatus

FIELDS = ("step", "steps", "price_first", "tone")
START = dt.datetime(2026, 11, 23, 11, 0, tzinfo=ZoneInfo("Europe/Samara"))


@dataclass
class Score:
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    misses: list[str] = field(default_factory=list)

    def accuracy(self, name: str) -> float:
        return self.right[name] / self.total[name] if self.total[name] else 0.0

    def line(self) -> str:
        return "  ".join(f"{f} {self.accuracy(f) * 100:5.1f} %" for f in FIELDS)

    def add(self, name: str, ok: bool, case_id: int, detail: str = "") -> None:
        self.total[name] += 1
        self.right[name] += ok
        if not ok:
            self.misses.append(f"#{case_id} {name} {detail}".strip())


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def dialogue(case: dict) -> Dialogue:
    turns = tuple(
        Turn(who == "M", text, START + dt.timedelta(minutes=i))
        for i, (who, text) in enumerate(case["turns"])
    )
    return Dialogue(case["id"], 1, turns, LeadStatus.QUALIFIED)


async def score(cases: list[dict], reviewer: Reviewer) -> Score:
    result = Score()
    for case in cases:
        review = await reviewer.review(dialogue(case))
        got, want = set(review.steps_done), set(case["steps"])
        for step in reviewer.config.coach.step_ids:
            result.add("step", (step in got) == (step in want), case["id"], step)
        result.add("steps", got == want, case["id"], f"got {sorted(got)}")
        pbn = review.price_before_need == case["price_before_need"]
        result.add("price_first", pbn, case["id"])
        result.add("tone", review.tone == case["tone"], case["id"], f"got {review.tone}")
    return result
