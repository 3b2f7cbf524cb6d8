"""Scoring an understander on the evaluation set (tests/data/ai_eval.jsonl).

Each line is a Russian client message with the hand-labelled service, time window, name
and intent, relative to Monday 23 November 2026, 10:00 in the business's timezone. A field
is right when it equals the label exactly (a missing label means "nothing there").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.types import Understanding

FIELDS = ("service", "time", "name", "intent")
EVAL_NOW = (2026, 11, 23, 10, 0)

Understand = Callable[[str, dt.datetime], Awaitable[Understanding]]


@dataclass
class Score:
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def accuracy(self, name: str) -> float:
        return self.right[name] / self.total if self.total else 0.0

    def line(self) -> str:
        return "  ".join(f"{f} {self.accuracy(f) * 100:5.1f} %" for f in FIELDS)


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _expected_time(case: dict) -> tuple | None:
    if "from" not in case:
        return None
    return tuple(case.get(k) for k in ("from", "to", "after", "before", "exact"))


def _got_time(u: Understanding) -> tuple | None:
    w = u.wish
    if w is None:
        return None

    def hm(t: dt.time | None) -> str | None:
        return f"{t:%H:%M}" if t else None

    return (w.day_from.isoformat(), w.day_to.isoformat(), hm(w.after), hm(w.before), hm(w.exact))


async def score(cases: list[dict], understand: Understand, tz: dt.tzinfo) -> Score:
    now = dt.datetime(*EVAL_NOW, tzinfo=tz)
    result = Score()
    for case in cases:
        u = await understand(case["text"], now)
        got = {
            "service": u.service_id,
            "time": _got_time(u),
            "name": u.name,
            "intent": u.intent.value,
        }
        want = {
            "service": case.get("service"),
            "time": _expected_time(case),
            "name": case.get("name"),
            "intent": case["intent"],
        }
        result.total += 1
        for name in FIELDS:
            if got[name] == want[name]:
                result.right[name] += 1
            else:
                result.misses.append(
                    f"{name}: {case['text']!r}: got {got[name]}, want {want[name]}"
                )
    return result
