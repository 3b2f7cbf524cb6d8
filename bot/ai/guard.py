"""Rules that run before any model: what must never leave the bot, what must be refused.

Keyword lists live in guard_words.toml so a business can extend them without code. The
trade-off (docs/ai.md): a keyword pre-filter over-blocks some harmless messages (they get
the rules, not the model) and misses unusual wording, but it never depends on a model to
keep a health detail away from the provider, and it costs microseconds.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from scenarios.types import Guard

WORDS_FILE = Path(__file__).with_name("guard_words.toml")
_PHONE = re.compile(r"(?:\+\s*)?\d[\d\s\-().]{5,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_QUESTION = re.compile(r"\?| можно ли | можно мне | мне можно ")


def _norm(text: str) -> str:
    """Lower case, ё→е, punctuation to spaces, a space at both ends (for whole words)."""
    text = re.sub(r"[^\w?]+", " ", text.lower().replace("ё", "е"))
    return " " + " ".join(text.replace("?", " ? ").split()) + " "


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern[str]]:
    """One regex per list; an entry starts at a word start, and one ending with a space
    is a whole word («боль », so «больше» is not a health detail)."""
    data = tomllib.loads(WORDS_FILE.read_text(encoding="utf-8"))
    out = {}
    for key in ("health", "medical", "legal"):
        alternatives = "|".join(re.escape(w.lstrip()) for w in data[key])
        out[key] = re.compile(r"(?<![а-яa-z])(?:" + alternatives + ")")
    return out


def has_health_details(text: str) -> bool:
    """A health condition, symptom or medicine is mentioned: never send this to a model."""
    return bool(_patterns()["health"].search(_norm(text)))


def classify(text: str) -> Guard:
    """MEDICAL or LEGAL for questions the bot must refuse, else NONE."""
    norm = _norm(text)
    p = _patterns()
    if p["legal"].search(norm):
        return Guard.LEGAL
    if p["medical"].search(norm):
        return Guard.MEDICAL
    if p["health"].search(norm) and _QUESTION.search(norm):
        return Guard.MEDICAL
    return Guard.NONE


def mask(text: str, names: tuple[str, ...] = ()) -> str:
    """The text as the model may see it: no phone numbers, e-mails or the client's name."""
    text = _PHONE.sub("[телефон]", text)
    text = _EMAIL.sub("[email]", text)
    for name in names:
        if name:
            text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", "[имя]", text, flags=re.I)
    return text
