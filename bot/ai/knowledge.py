"""What the business actually says about itself: config facts plus a free-text FAQ file.

The same facts feed the rules FAQ (keyword headings) and the model's context, and a model's
answer is checked against them: a number that is not in these facts is an invention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from bot.config import WEEKDAYS, BusinessConfig, Service
from bot.i18n import Texts

_WORD = re.compile(r"[а-яёa-z]{3,}")
_NUMBER = re.compile(r"\d+(?:[ \u00a0]\d{3})*")
# Money and percentages are checked with their unit: «1 рубль» must be a known price, not
# just a «1» found somewhere in the facts.
_AMOUNT = re.compile(r"(\d+(?:[ \u00a0]\d{3})*)\s*(₽|руб|р\.|%|процент)", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    keywords: tuple[str, ...]  # stems of the heading words (5 letters at most)
    answer: str


def _stems(text: str) -> tuple[str, ...]:
    return tuple(w[:5] for w in _WORD.findall(text.lower().replace("ё", "е")))


def parse_knowledge(text: str) -> list[Entry]:
    """«## heading words» sections of a markdown file; the heading's words are its keywords."""
    entries = []
    for block in re.split(r"^##\s+", text, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        body = body.strip()
        if body:
            entries.append(Entry(_stems(heading), body))
    return entries


class Knowledge:
    def __init__(self, config: BusinessConfig, texts: Texts, faq_text: str = "") -> None:
        self.config, self.texts, self.faq_text = config, texts, faq_text
        t, b = texts, config.business
        self.entries = [
            Entry(_stems(t("ai.kw_address")), t("ai.fact_address", address=b.address)),
            Entry(_stems(t("ai.kw_hours")), t("ai.fact_hours", hours=self.hours())),
            Entry(_stems(t("ai.kw_phone")), t("ai.fact_phone", phone=b.phone)),
            *parse_knowledge(faq_text),
        ]

    @classmethod
    def load(cls, config: BusinessConfig, texts: Texts, path: Path | None) -> Knowledge:
        if path is None:
            return cls(config, texts)
        try:
            return cls(config, texts, path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"AI_KNOWLEDGE_FILE: cannot read {path}: {exc.strerror}") from None

    def hours(self) -> str:
        names = self.texts("weekdays").split()
        parts = []
        for i, day in enumerate(WEEKDAYS):
            spans = getattr(self.config.hours, day)
            when = ", ".join(f"{s.start:%H:%M}–{s.end:%H:%M}" for s in spans)
            parts.append(f"{names[i]} {when or self.texts('ai.closed')}")
        return "; ".join(parts)

    def price(self, service: Service) -> str:
        t = self.texts
        line = t("ai.fact_price", service=service.title, price=t.money(int(service.price * 100)))
        extras = [f"{a.title} +{t.money(int(a.price * 100))}" for a in service.addons]
        return line + (t("ai.fact_addons", addons=", ".join(extras)) if extras else "")

    def rules_answer(self, text: str) -> str | None:
        """The entry whose heading shares the most words with the question (at least one)."""
        words = set(_stems(text))
        best = max(self.entries, key=lambda e: len(words & set(e.keywords)), default=None)
        if best is None or not words & set(best.keywords):
            return None
        return best.answer

    def context(self) -> str:
        """Everything the model may answer from (no clients, no staff, no notes)."""
        return self._facts[0]

    @cached_property
    def _facts(self) -> tuple[str, set[str], set[str], set[tuple[str, str]]]:
        """The context and its stems, numbers and amounts: the config is fixed for a
        process, so this is built once, not on every client message."""
        context = self._context()
        known = {re.sub(r"\D", "", n) for n in _NUMBER.findall(context)}
        amounts = {_amount(m) for m in _AMOUNT.finditer(context)}
        return context, set(_stems(context)), known, amounts

    def _context(self) -> str:
        b = self.config.business
        lines = [
            f"{b.name}. Адрес: {b.address}. Телефон: {b.phone}.",
            f"Часы работы: {self.hours()}.",
            "Услуги и цены:",
            *(f"- {s.id}: {self.price(s)}" for s in self.config.services),
        ]
        return "\n".join(lines) + "\n\n" + self.faq_text.strip()

    def grounded(self, answer: str) -> bool:
        """The answer talks about the facts (shares a word with them), every number in it
        appears in them, and every amount of money or percentage appears with its unit."""
        _, stems, known, amounts = self._facts
        if not set(_stems(answer)) & stems:
            return False  # says nothing the facts talk about
        if not all(re.sub(r"\D", "", n) in known for n in _NUMBER.findall(answer)):
            return False
        return all(_amount(m) in amounts for m in _AMOUNT.finditer(answer))


def _amount(m: re.Match[str]) -> tuple[str, str]:
    unit = "%" if m[2].lower().startswith(("%", "процент")) else "₽"
    return re.sub(r"\D", "", m[1]), unit
