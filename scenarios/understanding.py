"""The rules reading of one free-text message: service, add-ons, time wish, name, intent.

This is the fallback every model answer is measured against (tests/data/ai_eval.jsonl) and
the whole understanding when no model is configured. Pure and synchronous.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from bot.config import Service
from scenarios.matching import _TOKEN, match_services, word_score
from scenarios.parsing import _clean, normalize_phone, parse_name, parse_time_wish
from scenarios.types import Intent, Understanding

__all__ = [
    "DECLINE",
    "extract_name",
    "extract_phone",
    "match_addons",
    "rules_intent",
    "rules_understand",
]

# «я Ольга» needs the capital letter (else «я хочу» would be a name); after «меня зовут»
# any case will do.
_NAME_AFTER = re.compile(
    r"(?:меня\s+зовут|мо[её]\s+имя|зовут\s+меня|^зовут)\s*[:,-]?\s+(?P<any>[а-яёa-z-]{2,20})"
    r"|(?:^|[\s,.!])(?:я|это)\s+(?P<cap>[А-ЯЁ][а-яё]{1,19})\b",
    re.IGNORECASE,
)
_COMPLAINT = re.compile(
    r"жалоб|недовол|ужасн|отвратит|испорт|хамств|хамил|нагруб|верните\s+деньги|возврат\s+денег"
    r"|претензи|кошмар|безобраз|не\s+понравил|обман"
)
_PRICE = re.compile(r"сколько\s+стоит|\bцен[аыуе]?\b|стоимост|прайс|поч[её]м|\bпо\s+чем\b")
_BOOKING = re.compile(r"запиш|запис|хочу|можно\s+(?:на|ко?)\b|свободн|окошк|окно")


def extract_name(text: str) -> str | None:
    """A name the client introduces themselves with («…, я Ольга», «меня зовут анна»)."""
    for m in _NAME_AFTER.finditer(text):
        raw = m["any"] or m["cap"]
        if m["cap"] and not raw[:1].isupper():  # IGNORECASE also lets «я хочу» through
            continue
        name = parse_name(raw)
        if name is not None:
            return name
    return None


# «без покрытия», «аллергия на гель-лак», «дизайн не надо»: these name what NOT to add.
_WITHOUT = re.compile(
    r"\b(?:без|аллерги\w*\s+на|не\s+(?:надо|нужн\w*|хочу))\s+[\w-]+"
    r"|[\w-]+\s+не\s+(?:надо|нужн\w*)\b"
)
DECLINE = re.compile(r"\bбез\b|\bне\s+(?:надо|нужн\w*)\b|^нет\b")


def match_addons(text: str, service: Service) -> tuple[str, ...]:
    """Add-ons of `service` the message names by any word of their title («с покрытием»);
    «без покрытия», «аллергия на гель-лак» name none."""
    words = _TOKEN.findall(_WITHOUT.sub(" ", _clean(text)))
    own = _TOKEN.findall(_clean(" ".join([service.title, *service.synonyms])))
    found = []
    for addon in service.addons:
        # Words that also name the service («бровей» in «Окрашивание бровей») prove nothing.
        title_words = [
            w
            for w in _TOKEN.findall(_clean(addon.title))
            if len(w) >= 4 and not any(word_score(w, o) for o in own)
        ]
        if any(word_score(t, w) for t in title_words for w in words):
            found.append(addon.id)
    return tuple(found)


def extract_phone(text: str) -> str | None:
    """A full phone number in a longer message (ten digits at least, so «28.11 13:00»
    is never one)."""
    if len(re.sub(r"\D", "", text)) < 10:
        return None
    return normalize_phone(text)


def rules_intent(text: str, has_service: bool, has_wish: bool) -> Intent:
    cleaned = _clean(text)
    if _COMPLAINT.search(cleaned):
        return Intent.COMPLAINT
    if _PRICE.search(cleaned):
        return Intent.PRICE
    if has_service or has_wish or _BOOKING.search(cleaned):
        return Intent.BOOKING
    return Intent.OTHER


def rules_understand(text: str, services: Sequence[Service], now: dt.datetime) -> Understanding:
    """Everything the rules can read from one message; `now` is local business time."""
    found = match_services(text, services)
    service = next((s for s in services if s.id == found[0]), None) if len(found) == 1 else None
    addons = match_addons(text, service) if service else ()
    wish = parse_time_wish(text, now)
    return Understanding(
        service_id=service.id if service else None,
        service_choices=found if len(found) > 1 else (),
        addon_ids=addons,
        wish=wish,
        name=extract_name(text),
        phone=extract_phone(text),
        intent=rules_intent(text, bool(found), wish is not None),
    )


# Typed navigation: the whole message, any case, punctuation and «пожалуйста» aside. The
# button labels («◂ Назад», «Начать заново») are here too: channels that show buttons as
# reply-keyboard text (Telegram's phone step) send them back as typed words.
_NAVIGATION = {
    "back": "назад|вернуться|вернуться назад|вернись|шаг назад|обратно|back|go back",
    "restart": "заново|сначала|с начала|начать заново|начать сначала|начать с начала"
    "|начнем заново|начнем сначала|давай заново|давайте заново|по новой"
    "|restart|start over|start again",
    "cancel": "отмена|отменить|отмени|отмените|отменить запись|cancel",
}
_NAV_WORDS = {p: word for word, phrases in _NAVIGATION.items() for p in phrases.split("|")}
_POLITE = re.compile(r"\b(?:пожалуйста|плиз|please)\b")


def navigation(text: str) -> str | None:
    """ "back", "restart" or "cancel" when the message is only a navigation word."""
    phrase = " ".join(re.findall(r"[a-zа-я]+", _POLITE.sub(" ", _clean(text))))
    return _NAV_WORDS.get(phrase)
