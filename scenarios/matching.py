"""Which catalog services a message names: «маникур» → manicure, «стрижка» → either haircut.

Pure and synchronous. A word that fits several services («стрижка» is in both «Женская
стрижка» and «Мужская стрижка») gives all of them, so the dialogue asks which one instead
of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from bot.config import Service
from scenarios.parsing import _clean

__all__ = ["match_service", "match_services", "words"]

_TOKEN = re.compile(r"[a-zа-я0-9]+")
_FUZZY_CUTOFF = 80
_TITLE_WORD = 4  # shorter title words («за», «под») prove nothing on their own
# Words of one family a shared stem cannot join: «подстричься» asks for a «стрижка».
_FAMILIES = ((re.compile(r"^(?:под|по)?стри[чж]"), "стрижка"),)


def words(text: str) -> list[str]:
    """The message's words, lower case, with family members replaced by their noun."""
    out = []
    for word in _TOKEN.findall(_clean(text)):
        out.append(next((noun for rx, noun in _FAMILIES if rx.match(word)), word))
    return out


def word_score(term_word: str, word: str) -> float:
    """How well a message word matches one word of a catalog term (0 = not at all).

    Short words must match exactly (or as a prefix: «лицо» ~ «лицом»); longer ones also
    by a shared stem («бровей» ~ «брови») or by one typo («маникур» ~ «маникюр»).
    """
    if word == term_word:
        return 100.0
    if len(term_word) <= 3:
        return 0.0
    stem = max(4, len(term_word) - 2)
    if len(word) >= stem and word[:stem] == term_word[:stem]:
        return 95.0
    if len(term_word) <= 4 or len(word) < 4:
        return 0.0
    score = fuzz.ratio(term_word, word)
    return score if score >= _FUZZY_CUTOFF else 0.0


def _best(term_word: str, message: list[str]) -> tuple[int, float] | None:
    """(index, score) of the message word that best matches one term word."""
    scored = [(word_score(term_word, w), i) for i, w in enumerate(message)]
    score, index = max(scored, default=(0.0, -1))
    return (index, score) if score else None


def _term(term: str, message: list[str]) -> dict[int, float]:
    """Message words a whole term matches ({} unless every word of the term is there)."""
    found: dict[int, float] = {}
    for term_word in words(term):
        hit = _best(term_word, message)
        if hit is None:
            return {}
        found[hit[0]] = max(found.get(hit[0], 0.0), hit[1])
    return found


def _key(service: Service, message: list[str]) -> tuple[int, int, float] | None:
    """How well the message names the service: (own words, with add-on words, mean score).

    Own words are matched by a whole title or synonym, or by one long word of the title;
    add-on titles («оформление бороды») point to their service but lose to its own names.
    """
    own: dict[int, float] = {}
    for term in (service.title, *service.synonyms):
        for i, s in _term(term, message).items():
            own[i] = max(own.get(i, 0.0), s)
    for title_word in words(service.title):
        hit = _best(title_word, message) if len(title_word) >= _TITLE_WORD else None
        if hit is not None:
            own[hit[0]] = max(own.get(hit[0], 0.0), hit[1])
    extra = {i for a in service.addons for i in _term(a.title, message)}
    if not own and not extra:
        return None
    mean = sum(own.values()) / len(own) if own else 0.0
    return len(own), len(own.keys() | extra), mean


def match_services(text: str, services: Sequence[Service]) -> tuple[str, ...]:
    """Ids of the services the message names best: one, several equally good, or none.

    «мужская стрижка» names one (two of its words); «стрижка» names both haircuts.
    """
    message = words(text)
    if not message:
        return ()
    best: tuple[int, int, float] | None = None
    ids: list[str] = []
    for service in services:
        key = _key(service, message)
        if key is None or (best is not None and key < best):
            continue
        if best is None or key > best:
            best, ids = key, []
        ids.append(service.id)
    return tuple(ids)


def match_service(text: str, services: Sequence[Service]) -> str | None:
    """The one service the message names, or None when it names none or several."""
    found = match_services(text, services)
    return found[0] if len(found) == 1 else None
