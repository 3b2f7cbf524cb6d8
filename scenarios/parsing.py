"""Free-text understanding for the booking dialog: when, which service, phone, name.

Clients type «завтра после 5», «хочу на маникур в субботу», «8 927 123-45-67», «ольга».
Everything here is pure and synchronous (no I/O), so the dialog engine can call it on every
message and tests can pin it down with tables. Rules come first because they are fast and
predictable; dateparser is only a fallback for absolute dates the rules did not recognise.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import phonenumbers
from dateparser.date import DateDataParser
from rapidfuzz import fuzz, process

__all__ = ["TimeWish", "normalize_phone", "parse_name", "parse_time_wish"]


@dataclass(frozen=True)
class TimeWish:
    """What the client asked for, in the business's local time."""

    day_from: dt.date  # inclusive local dates
    day_to: dt.date
    after: dt.time | None = None  # earliest local start time wanted
    before: dt.time | None = None  # latest local start time wanted (inclusive)
    exact: dt.time | None = None  # a precise wished start time ("в 14:30")


# --------------------------------------------------------------------------- text helpers


def _clean(text: str) -> str:
    """Lower case, ё→е, one space between words: the form every rule below expects."""
    text = text.lower().replace("ё", "е").replace("—", "-").replace("–", "-")
    return re.sub(r"\s+", " ", text).strip()


# Canonical spellings of the words the date rules look for. A misspelt word (≥ 5 letters)
# is replaced by the closest of these; decoys map real words that merely look alike
# («завтрак», «вечеринка») to themselves so they are not "corrected".
_VOCAB = [
    "сегодня",
    "завтра",
    "послезавтра",
    "понедельник",
    "понедельника",
    "вторник",
    "вторника",
    "среду",
    "среда",
    "среды",
    "четверг",
    "четверга",
    "пятницу",
    "пятница",
    "пятницы",
    "субботу",
    "суббота",
    "субботы",
    "воскресенье",
    "воскресенья",
    "выходные",
    "выходных",
    "неделе",
    "неделю",
    "недели",
    "следующей",
    "следующий",
    "следующую",
    "утро",
    "утром",
    "утра",
    "вечер",
    "вечером",
    "вечера",
    "вечерком",
    "утречком",
    "после",
    "обеда",
    "января",
    "февраля",
    "марта",
    "апреля",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
    "через",
    "завтрак",
    "завтрака",
    "завтраку",
    "стрижку",
    "стрижка",
    "вечеринка",
    "сегодняшний",
    "суббот",
]
_VOCAB_SET = frozenset(_VOCAB)
_WORD = re.compile(r"[а-яa-z]{5,}")


def _fix_typos(text: str) -> str:
    """Correct cheap one-letter typos in date words («завтро», «субботк», «понеделник»)."""

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        if word in _VOCAB_SET:
            return word
        best = process.extractOne(word, _VOCAB, scorer=fuzz.ratio, score_cutoff=82)
        return best[0] if best else word

    return _WORD.sub(fix, text)


# --------------------------------------------------------------------------- dates

_WEEKDAYS = (
    ("понедельник", "пн"),
    ("вторник", "вт"),
    ("сред", "ср"),
    ("четверг", "чт"),
    ("пятниц", "пт"),
    ("суббот", "сб"),
    ("воскресен", "вс"),
)
_WEEKDAY_RE = re.compile(
    r"(?P<next>следующ\w*\s+)?(?:"
    + "|".join(f"(?P<wd{i}>\\b{stem}\\w*|\\b{abbr}\\b)" for i, (stem, abbr) in enumerate(_WEEKDAYS))
    + ")"
)
_MONTHS = ("янв", "фев", "мар", "апр", "ма[яй]", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
_MONTH_RE = re.compile(
    r"(?<![\d.:/])(?P<d>\d{1,2})(?:\s*-?\s*(?:го|е|ое|ого))?\s*(?P<m>"
    + "|".join(f"(?P<m{i}>{stem})" for i, stem in enumerate(_MONTHS))
    + r")[а-я]*\.?(?:\s+(?P<y>20\d\d)\b)?"
)
_NUMERIC_DATE_RE = re.compile(
    r"(?<![\d.:/])(?P<d>\d{1,2})[./](?P<m>\d{1,2})(?:[./](?P<y>\d{4}|\d{2}))?(?![\d:]|[./]\d)"
)
_DAY_OF_MONTH_RE = re.compile(
    r"(?<![\d.:/])(?P<d>\d{1,2})\s*-?\s*(?:го|е|ое|ого)\b(?!\s*час)|(?P<d2>\d{1,2})\s+числ\w*"
)
_NUMBER_WORDS = {
    "один": 1,
    "одну": 1,
    "пару": 2,
    "два": 2,
    "две": 2,
    "три": 3,
    "четыре": 4,
    "пять": 5,
    "шесть": 6,
    "семь": 7,
    "восемь": 8,
    "девять": 9,
    "десять": 10,
}
_IN_RE = re.compile(
    r"\bчерез\s+(?P<n>\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")?\s*(?P<unit>дн|день|недел|час)\w*"
)
_RANGE_WORDS = (
    (re.compile(r"\bпослезавтра\b"), "after_tomorrow"),
    (re.compile(r"\bзавтра\b"), "tomorrow"),
    (re.compile(r"\bсегодня\b|\bсейчас\b"), "today"),
    (re.compile(r"\bследующ\w*\s+выходн\w*"), "next_weekend"),
    (re.compile(r"\bвыходн\w*"), "weekend"),
    (re.compile(r"\bследующ\w*\s+недел\w*"), "next_week"),
    (re.compile(r"\b(?:эт\w+|текущ\w+)\s+недел\w*"), "this_week"),
)


def _next_date(today: dt.date, day: int, month: int | None) -> dt.date | None:
    """The first date on or after today with this day (and month), rolling the year/month."""
    if month is None:
        year, mon = today.year, today.month
        for _ in range(13):
            try:
                candidate = dt.date(year, mon, day)
            except ValueError:
                candidate = None
            if candidate is not None and candidate >= today:
                return candidate
            year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
        return None
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def _explicit_date(day: int, month: int, year: str | None, today: dt.date) -> dt.date | None:
    if year is None:
        return _next_date(today, day, month)
    y = int(year) + (2000 if len(year) == 2 else 0)
    try:
        return dt.date(y, month, day)
    except ValueError:
        return None


def _find_days(
    text: str, now: dt.datetime
) -> tuple[list[tuple[dt.date, dt.date]], str, int | None]:
    """Date spans named in the text, the text with them blanked out, and the hours of
    «через 2 часа» if given (that one names a time too, see the caller)."""
    today = now.date()
    spans: list[tuple[dt.date, dt.date]] = []

    def blank(m: re.Match[str]) -> str:
        return " " * len(m.group(0))

    def one(day: dt.date | None) -> None:
        if day is not None:
            spans.append((day, day))

    for m in _MONTH_RE.finditer(text):
        month = next(i for i in range(12) if m.group(f"m{i}")) + 1
        one(_explicit_date(int(m["d"]), month, m["y"], today))
    text = _MONTH_RE.sub(blank, text)
    for m in _NUMERIC_DATE_RE.finditer(text):
        day, month = int(m["d"]), int(m["m"])
        if 1 <= month <= 12 and 1 <= day <= 31:
            one(_explicit_date(day, month, m["y"], today))
            text = text[: m.start()] + blank(m) + text[m.end() :]
    for m in _DAY_OF_MONTH_RE.finditer(text):
        one(_next_date(today, int(m["d"] or m["d2"]), None))
    text = _DAY_OF_MONTH_RE.sub(blank, text)

    hours_ahead = None
    for m in _IN_RE.finditer(text):
        raw = m["n"]
        n = 1 if raw is None else int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
        unit = m["unit"]
        if unit.startswith("час"):
            hours_ahead = n
            one((now + dt.timedelta(hours=n)).date())
            continue
        one(today + dt.timedelta(days=n * (7 if unit.startswith("недел") else 1)))
    text = _IN_RE.sub(blank, text)

    weekday = today.weekday()
    for pattern, kind in _RANGE_WORDS:
        if not pattern.search(text):
            continue
        text = pattern.sub(blank, text)
        sunday = today + dt.timedelta(days=6 - weekday)
        if kind == "today":
            spans.append((today, today))
        elif kind == "tomorrow":
            one(today + dt.timedelta(days=1))
        elif kind == "after_tomorrow":
            one(today + dt.timedelta(days=2))
        elif kind == "this_week":
            spans.append((today, sunday))
        elif kind == "next_week":
            spans.append((sunday + dt.timedelta(days=1), sunday + dt.timedelta(days=7)))
        else:
            saturday = max(today, sunday - dt.timedelta(days=1))
            shift = dt.timedelta(days=7 if kind == "next_weekend" else 0)
            spans.append((saturday + shift, sunday + shift))

    for m in _WEEKDAY_RE.finditer(text):
        target = next(i for i in range(7) if m.group(f"wd{i}"))
        ahead = (target - weekday) % 7
        if m["next"] and ahead == 0:
            ahead = 7
        one(today + dt.timedelta(days=ahead))
    text = _WEEKDAY_RE.sub(blank, text)
    return spans, text, hours_ahead


# --------------------------------------------------------------------------- times

_HOUR_WORDS = {
    "час": 1,
    "одного": 1,
    "два": 2,
    "двух": 2,
    "три": 3,
    "трех": 3,
    "четыре": 4,
    "четырех": 4,
    "пять": 5,
    "пяти": 5,
    "шесть": 6,
    "шести": 6,
    "семь": 7,
    "семи": 7,
    "восемь": 8,
    "восьми": 8,
    "девять": 9,
    "девяти": 9,
    "десять": 10,
    "десяти": 10,
    "одиннадцать": 11,
    "одиннадцати": 11,
    "двенадцать": 12,
    "двенадцати": 12,
}
_HOUR_WORD_RE = re.compile(r"\b(в|к|после|до|с|со|от|около)\s+(" + "|".join(_HOUR_WORDS) + r")\b")
_HALF_ORDINALS = [
    "первого",
    "второго",
    "третьего",
    "четвертого",
    "пятого",
    "шестого",
    "седьмого",
    "восьмого",
    "девятого",
    "десятого",
    "одиннадцатого",
    "двенадцатого",
]
_HALF_RE = re.compile(r"\bпол\s*-?\s*(" + "|".join(_HALF_ORDINALS) + r")\b")
# An hour with optional minutes and an optional «часа дня / вечера / утра» after it.
_T = r"(\d{1,2})(?!\d)(?:[:.](\d{2}))?(?:\s*(?:ч\b|час\w*))?(?:\s*(утра|дня|вечера|ночи))?"
_RANGE_RE = re.compile(r"(?:\b(?:с|со|от|c)\s*|\bмежду\s+)" + _T + r"\s*(?:до|по|-|и)\s*" + _T)
_BARE_RANGE_RE = re.compile(r"(?<![\d.:])(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})(?![\d])")
_AFTER_RE = re.compile(r"(?:\bпосле|\bне\s+раньше|\bот)\s+" + _T)
_BEFORE_RE = re.compile(r"(?:\bдо|\bне\s+позже|\bне\s+позднее)\s+" + _T)
_EXACT_RE = re.compile(r"(?:\bв|\bк|\bна|\bоколо)\s*" + _T)
_COLON_RE = re.compile(r"(?<![\d.:/])(\d{1,2})[:.](\d{2})(?![\d:])(?:\s*(утра|дня|вечера|ночи))?")
_PARTS = (
    (re.compile(r"\bпосле\s+обеда\b|\bпослеобед\w*"), dt.time(13), None),
    (re.compile(r"\bв\s+обед\w*|\bобеденн\w*"), dt.time(12), dt.time(14)),
    (re.compile(r"\bутр(?:ом|ечком|ечко|о)\b|\bс\s+утра\b|\bпораньше\b"), dt.time(9), dt.time(12)),
    (re.compile(r"\bдн[её]м\b|\bдн[её]вн\w*|\bсередин\w* дня\b"), dt.time(12), dt.time(17)),
    (re.compile(r"\bвечер(?:ом|ком|очком)?\b|\bпопозже\b"), dt.time(17), None),
)


def _hour(h: str, m: str | None, qualifier: str | None, morning: bool) -> dt.time | None:
    """Bare hours 1–8 are afternoon in a salon («после 5» = 17:00) unless it is morning."""
    hour, minute = int(h), int(m or 0)
    if qualifier in ("дня", "вечера") and hour < 12:
        hour += 12
    elif qualifier == "ночи" and hour == 12:
        hour = 0
    elif qualifier is None and not morning and 1 <= hour <= 8:
        hour += 12
    if hour == 24 and minute == 0:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def _find_times(text: str) -> tuple[dt.time | None, dt.time | None, dt.time | None, bool]:
    """(after, before, exact, found) from the text left once dates are blanked out."""
    text = _HOUR_WORD_RE.sub(lambda m: f"{m[1]} {_HOUR_WORDS[m[2]]}", text)
    text = _HALF_RE.sub(lambda m: f"{_HALF_ORDINALS.index(m[1]) or 12}:30", text)
    after = before = exact = None
    found = False
    for pattern, part_after, part_before in _PARTS:
        if pattern.search(text):
            after, before, found = part_after, part_before, True
            text = pattern.sub(" ", text)
            break
    morning = after == dt.time(9) or "утра" in text

    def t(m: re.Match[str], i: int = 1) -> dt.time | None:
        return _hour(m[i], m[i + 1], m[i + 2], morning)

    if m := _RANGE_RE.search(text):
        lo, hi = t(m, 1), t(m, 4)
        if lo and hi and hi < lo and lo.hour < 12:  # «с 10 до 2» = 10:00–14:00
            hi = dt.time(hi.hour + 12, hi.minute) if hi.hour < 12 else hi
        return lo, hi, None, True
    if m := _BARE_RANGE_RE.search(text):
        lo = _hour(m[1], m[2], None, True)
        hi = _hour(m[3], m[4], None, True)
        return lo, hi, None, True
    if m := _AFTER_RE.search(text):
        after, found = t(m) or after, True
        text = text[: m.start()] + " " + text[m.end() :]
    if m := _BEFORE_RE.search(text):
        before, found = t(m) or before, True
        text = text[: m.start()] + " " + text[m.end() :]
    if after is not None and before is not None and before < after:
        before = None
    if m := _EXACT_RE.search(text) or _COLON_RE.search(text):
        exact = _hour(m[1], m[2], m[3], morning) if m.re is _COLON_RE else t(m)
        if exact is not None:
            return None, None, exact, True
    return after, before, exact, found


# --------------------------------------------------------------------------- dateparser fallback

_DATEPARSER_SETTINGS = {
    "PREFER_DATES_FROM": "future",
    "DATE_ORDER": "DMY",
    "RETURN_TIME_AS_PERIOD": True,
}
_DATEPARSER_LANGUAGES = ["ru"]
_HAS_DATE_HINT = re.compile(r"\d|янв|фев|мар|апр|ма[йя]|июн|июл|авг|сен|окт|ноя|дек")


def _dateparser_wish(text: str, now: dt.datetime) -> TimeWish | None:
    """Absolute dates the rules missed; only sane results (a day and month, not in the past)."""
    if not _HAS_DATE_HINT.search(text):
        return None
    settings = {**_DATEPARSER_SETTINGS, "RELATIVE_BASE": now.replace(tzinfo=None)}
    parser = DateDataParser(languages=_DATEPARSER_LANGUAGES, settings=settings)
    data = parser.get_date_data(text)
    parts = getattr(data, "parts", None) or ()
    if data.date_obj is None or "day" not in parts or "month" not in parts:
        return None
    day = data.date_obj.date()
    if not now.date() <= day <= now.date() + dt.timedelta(days=400):
        return None
    exact = data.date_obj.time() if data.period == "time" else None
    return TimeWish(day, day, exact=exact)


# --------------------------------------------------------------------------- public


def _open_window_end(after: dt.time | None) -> dt.time:
    if after is None:
        return dt.time(23, 59)
    return dt.time(min(after.hour + 4, 23), after.minute if after.hour + 4 <= 23 else 59)


def parse_time_wish(text: str, now: dt.datetime) -> TimeWish | None:
    """Turn «завтра после 5», «в субботу утром», «25.12 в 14:30» into a TimeWish.

    `now` is timezone-aware local business time. A time without a date means today if that
    time is still ahead, else tomorrow; a date without a time means the whole day. Returns
    None when the text names no date or time at all («привет», «сколько стоит»).
    """
    cleaned = _fix_typos(_clean(text))
    spans, rest, hours_ahead = _find_days(cleaned, now)
    after, before, exact, has_time = _find_times(rest)
    if hours_ahead is not None and not has_time:
        later = now + dt.timedelta(hours=hours_ahead)
        after, has_time = later.time().replace(second=0, microsecond=0, tzinfo=None), True
    if not spans and not has_time:
        return _dateparser_wish(cleaned, now)
    if spans:
        return TimeWish(min(s[0] for s in spans), max(s[1] for s in spans), after, before, exact)
    # A time alone: today while it is still ahead, else tomorrow. An open «после 17» stays
    # "ahead" for four hours: at 21:00 «вечером» means tomorrow evening.
    last = exact or before or _open_window_end(after)
    day = now.date()
    if last <= now.time().replace(tzinfo=None):
        day += dt.timedelta(days=1)
    return TimeWish(day, day, after=after, before=before, exact=exact)


_PHONE_CANDIDATE = re.compile(r"(?:\+\s*)?\(?\d[\d\s\-().]{4,}\d")


def normalize_phone(text: str, region: str = "RU") -> str | None:
    """The first valid phone number in the text as E.164 («8 927 123-45-67» → «+79271234567»).

    Russian habits are accepted (a leading 8 or 7 without «+», 10 bare digits); foreign
    numbers need «+». Invalid, too short or too long numbers give None, so the dialog asks
    again instead of storing a number nobody can call.
    """
    for m in _PHONE_CANDIDATE.finditer(text):
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if not 7 <= len(digits) <= 15:
            continue
        international = raw.lstrip("(").startswith("+")
        if not international and region == "RU" and len(digits) == 11 and digits[0] in "78":
            digits, international = "7" + digits[1:], True
        try:
            number = phonenumbers.parse(("+" if international else "") + digits, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # Digits glued to other numbers («8 927 123 45 67, 2 шт»): let phonenumbers look.
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


# --------------------------------------------------------------------------- names

_NAME_PREFIX = re.compile(
    r"^(?:меня\s+зовут|мое\s+имя|моё\s+имя|имя|зовут|это|я)\s*[:,-]?\s+", re.IGNORECASE
)
_NOT_NAMES = frozenset(
    [
        "привет",
        "здравствуйте",
        "здрасте",
        "добрый",
        "день",
        "вечер",
        "утро",
        "да",
        "нет",
        "ок",
        "окей",
        "хорошо",
        "спасибо",
        "не",
        "скажу",
        "start",
        "hi",
        "hello",
        "yes",
        "no",
    ]
)
_LINK = re.compile(r"https?:|www\.|@|\.(?:ru|com|рф|me|org|net)\b|t\.me", re.IGNORECASE)


def parse_name(text: str) -> str | None:
    """A plausible person's name, cleaned and capitalised («ольга» → «Ольга»), else None.

    Refuses what cannot be a name — digits, links, long text, more than three words,
    greetings — so the dialog can ask again rather than address the client as «Привет».
    """
    text = " ".join(text.split())
    if not text or len(text) > 40 or _LINK.search(text) or any(c.isdigit() for c in text):
        return None
    text = re.sub(r"[^\w\s'’.-]", " ", text)  # emoji, punctuation
    text = " ".join(_NAME_PREFIX.sub("", text).split()).strip(" .-")
    if not re.fullmatch(r"[^\W\d_]+(?:[-'’ ][^\W\d_]+)*\.?", text):
        return None
    words = text.split()
    if len(words) > 3:
        return None
    words = [w for w in words if w.lower().replace("ё", "е") not in _NOT_NAMES]  # «Анна, привет»
    if not words or len("".join(words)) < 2:
        return None

    def cap(part: str) -> str:
        return part[:1].upper() + part[1:].lower() if part.islower() or part.isupper() else part

    return " ".join("-".join(cap(p) for p in w.split("-")) for w in words)
