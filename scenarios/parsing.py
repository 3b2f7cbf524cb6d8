"""TEMPORARY minimal parsing; replaced by the full rules module."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from rapidfuzz import fuzz

from bot.config import Service


@dataclass(frozen=True)
class TimeWish:
    day_from: dt.date
    day_to: dt.date
    after: dt.time | None = None
    before: dt.time | None = None
    exact: dt.time | None = None


def parse_time_wish(text: str, now: dt.datetime) -> TimeWish | None:
    t = text.lower()
    today = now.date()
    if "завтра" in t:
        d = today + dt.timedelta(days=1)
        return TimeWish(d, d)
    if "сегодня" in t:
        return TimeWish(today, today)
    return None


def normalize_phone(text: str, region: str = "RU") -> str | None:
    digits = re.sub(r"[^\d+]", "", text)
    if len(digits) == 11 and digits.startswith(("7", "8")):
        digits = "+7" + digits[1:]
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def match_service(text: str, services: Sequence[Service]) -> str | None:
    t = text.lower().replace("ё", "е")
    best, score = None, 0.0
    for s in services:
        for syn in [s.title, *s.synonyms]:
            sc = fuzz.partial_ratio(syn.lower(), t)
            if sc > score:
                best, score = s.id, sc
    return best if score >= 85 else None


def parse_name(text: str) -> str | None:
    t = text.strip()
    if not t or len(t) > 40 or any(c.isdigit() for c in t) or len(t.split()) > 3:
        return None
    return " ".join(w.capitalize() for w in t.split())
