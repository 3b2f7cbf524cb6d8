"""The rules' review of a dialogue: what needs no model, and the reduced review without one.

Facts (always from here): response times in working time, the outcome, a lost lead's check.
Keywords (the review when no model answers, or a field the model got wrong): the script
steps found in the manager's words, price named before the need was asked, the client's tone.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from bot.coach.dialogue import Dialogue
from bot.coach.script import NEED_STEP, CoachScript, ScriptStep
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.staffwork.worktime import working_minutes_between

TONES = ("positive", "neutral", "negative")
MAX_SCORE = 10
MAX_TIPS = 2
# A clock time offered («в 15:30»); «до 18:00» is a deadline, not a slot.
_TIME = re.compile(r"(?<!\d)(?<!до )(?:[01]?\d|2[0-3])[:.][0-5]\d(?!\d)", re.IGNORECASE)
_AMOUNT = re.compile(r"\d[\d\s]*\s?(?:р\b|р\.|руб|₽)", re.IGNORECASE)
_NUMBER = re.compile(r"\d{3,}|\d+\s\d{3}")
_QUESTION = re.compile(r"[^.!?]*\?")
WORDS_FILE = Path(__file__).with_name("words.toml")


@dataclass(frozen=True)
class Review:
    steps_done: tuple[str, ...]
    steps_missed: tuple[str, ...]
    price_before_need: bool
    tone: str
    score: int
    first_response_s: int | None = None
    slowest_response_s: int | None = None
    tips: tuple[str, ...] = field(default=())
    by_model: bool = False


def norm(text: str) -> str:
    """Lower case, ё→е, punctuation to spaces, a space at both ends (for whole words)."""
    text = re.sub(r"[^\w₽]+", " ", text.lower().replace("ё", "е"))
    return " " + " ".join(text.split()) + " "


def has_word(normed: str, words: list[str]) -> bool:
    return any(" " + w.lower().replace("ё", "е") in normed for w in words)


@cache
def tone_words() -> dict[str, list[str]]:
    return tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))


def _manager_lines(d: Dialogue) -> list[tuple[str, str]]:
    return [(t.text, norm(t.text)) for t in d.turns if t.manager]


def _asks(raw: str, script: CoachScript) -> bool:
    """A question about the client rather than about time or booking («Вам с покрытием?»)."""
    others = [w for s in script.steps if s.id != NEED_STEP for w in s.words]
    for question in _QUESTION.findall(raw):
        normed = norm(question)
        if not (_TIME.search(question) or has_word(normed, [*script.not_need, *others])):
            return True
    return False


def shows(step: ScriptStep, raw: str, normed: str, script: CoachScript) -> bool:
    """This manager message shows the step: its words, a time offered, or a question."""
    if has_word(normed, step.words):
        return True
    if step.times and _TIME.search(raw):
        return True
    return step.questions and _asks(raw, script)


def found_steps(d: Dialogue, script: CoachScript) -> tuple[str, ...]:
    lines = _manager_lines(d)
    return tuple(s.id for s in script.steps if any(shows(s, r, n, script) for r, n in lines))


def names_price(raw: str, normed: str, script: CoachScript) -> bool:
    """An amount with its currency, or a price word next to a number («стоит 2 200»)."""
    return bool(_AMOUNT.search(raw)) or (
        has_word(normed, script.price_words) and bool(_NUMBER.search(raw))
    )


def price_first(d: Dialogue, script: CoachScript) -> bool:
    """A price named in a manager's message before (or without) a question about the need."""
    need = script.step(NEED_STEP)
    for raw, normed in _manager_lines(d):
        if names_price(raw, normed, script):
            return True
        if need is not None and shows(need, raw, normed, script):
            return False
    return False


def tone(d: Dialogue) -> str:
    words = tone_words()
    said = [norm(t.text) for t in d.turns if not t.manager]
    bad = sum(has_word(s, words["negative"]) for s in said)
    good = sum(has_word(s, words["positive"]) for s in said)
    if bad and bad >= good:
        return "negative"
    return "positive" if good else "neutral"


def response_seconds(d: Dialogue, config: BusinessConfig) -> list[int]:
    """Working seconds from each client message that waited to the manager's answer."""
    waits, since = [], d.waiting_since
    for turn in d.turns:
        if not turn.manager and since is None:
            since = turn.at
        elif turn.manager and since is not None:
            waits.append(round(working_minutes_between(config, since, turn.at) * 60))
            since = None
    return waits


def score(script: CoachScript, done: tuple[str, ...], price_early: bool, slow: bool) -> int:
    points = round(MAX_SCORE * len(done) / len(script.steps)) - 2 * price_early - slow
    return max(0, min(MAX_SCORE, points))


def tips(
    config: BusinessConfig, texts: Texts, missed: tuple[str, ...], price_early: bool, slow: bool
) -> tuple[str, ...]:
    """The one or two most useful pieces of advice, most important first."""
    out = [texts("coach.tip.price_first")] if price_early else []
    for step_id in missed:
        step = config.coach.step(step_id)
        if step is not None and not (price_early and step_id == NEED_STEP):
            key = f"coach.tip.{step_id}"
            out.append(
                step.tip
                or (texts(key) if key in texts else texts("coach.tip.step", step=step.title))
            )
    if slow:
        out.append(texts("coach.tip.slow", minutes=config.coach.slow_answer_minutes))
    return tuple(out[:MAX_TIPS])


def _step_tip(texts: Texts, step_id: str, title: str) -> str:
    """The catalog's advice for a default step; a business's own step gets the generic one."""
    key = f"coach.tip.{step_id}"
    return texts(key) if key in texts else texts("coach.tip.step", step=title)


def rules_review(d: Dialogue, config: BusinessConfig, texts: Texts) -> Review:
    script = config.coach
    done = found_steps(d, script)
    missed = tuple(s for s in script.step_ids if s not in done)
    early = price_first(d, script)
    waits = response_seconds(d, config)
    first = waits[0] if waits else None
    slow = first is not None and first > script.slow_answer_minutes * 60
    return Review(
        steps_done=done,
        steps_missed=missed,
        price_before_need=early,
        tone=tone(d),
        score=score(script, done, early, slow),
        first_response_s=first,
        slowest_response_s=max(waits) if waits else None,
        tips=tips(config, texts, missed, early, slow),
    )
