"""`python -m bot init`: a business config from a few questions in the terminal.

For an owner who has never seen TOML: every answer is checked as it is typed (a timezone,
hours, a duration on the 5-minute grid, a price) and asked again when wrong; the file is
validated by the same loader the bot uses before it is written, and an existing file is
never overwritten without --force.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import GRID_MINUTES, ConfigError, _parse_intervals, parse_config
from bot.i18n import Texts

T = TypeVar("T")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
_LATIN = "a b v g d e e zh z i y k l m n o p r s t u f h ts ch sh sch _ y _ e yu ya"
TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", _LATIN.split(" "), strict=True))


class Aborted(Exception):
    """The input ended before the questions did."""


def add_command(sub: argparse._SubParsersAction) -> None:
    init = sub.add_parser("init", help="write a business config from a few questions")
    init.add_argument("path", nargs="?", default="business.toml", help="where to write it")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--lang", choices=("ru", "en"), default="ru", help="language of questions")


def slug(name: str, taken: set[str]) -> str:
    """An id like the config wants ([a-z0-9_], ≤ 16) from a name in any script."""
    text = "".join(TRANSLIT.get(c, c) for c in name.strip().casefold())
    text = "".join(c if c.isascii() and c.isalnum() else "_" for c in text).strip("_")
    base = ("_".join(p for p in text.split("_") if p) or "item")[:13]
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


class Asker:
    """Questions on stdout, answers from stdin; a wrong answer is explained and asked again."""

    def __init__(self, texts: Texts, read: Callable[[], str] = input) -> None:
        self.t, self.read = texts, read

    def ask(self, key: str, check: Callable[[str], T], default: str = "") -> T:
        prompt = self.t(f"init.q.{key}") + (f" [{default}]" if default else "") + ": "
        while True:
            print(prompt, end="", flush=True)
            try:
                answer = self.read().strip() or default
            except EOFError:
                raise Aborted from None
            try:
                return check(answer)
            except ValueError as exc:
                print(self.t("init.again", reason=str(exc) or self.t(f"init.bad.{key}")))


def _text(value: str) -> str:
    if not value:
        raise ValueError
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError from None
    if "/" not in value:
        raise ValueError
    return value


def _hours(value: str) -> str:
    try:
        _parse_intervals(value)
    except ValueError:
        raise ValueError from None  # the reason in the owner's language, not pydantic's
    return value


def _names(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names or any(len(n) > 40 for n in names):
        raise ValueError
    return names


def _minutes(value: str) -> int:
    minutes = int(value)
    if minutes <= 0 or minutes % GRID_MINUTES:
        raise ValueError
    return minutes


def _rubles(value: str) -> Decimal:
    try:
        amount = Decimal(value.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise ValueError from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError
    return amount


def questions(asker: Asker) -> dict:
    """The interview: what a business needs to take its first booking."""
    a = asker.ask
    business = {
        "name": a("name", _text),
        "address": a("address", _text),
        "timezone": a("timezone", _zone, "Europe/Moscow"),
        "phone": a("phone", str),
        "policy_url": a("policy_url", _text),
    }
    weekdays = a("weekdays", _hours, "10:00-20:00")
    hours = {d: weekdays for d in WEEKDAYS}
    hours["sat"] = a("sat", _hours, "10:00-18:00")
    hours["sun"] = a("sun", _hours, "off")
    taken: set[str] = set()
    masters = [{"id": slug(n, taken), "name": n} for n in a("masters", _names)]
    services, ids = [], set()
    while True:
        title = a("service", str)
        if not title:
            if services:
                break
            print(asker.t("init.need_service"))
            continue
        services.append(
            {
                "id": slug(title, ids),
                "title": title[:40],
                "duration": a("duration", _minutes, "60"),
                "price": a("price", _rubles),
                "masters": [m["id"] for m in masters],
            }
        )
    return {"business": business, "hours": hours, "masters": masters, "services": services}


def render(data: dict) -> str:
    """TOML text for the interview's answers (strings JSON-escaped: valid TOML strings)."""
    q = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
    lines = ["# Written by `python -m bot init`; see examples/salon.toml for every key.", ""]
    lines += ["[business]", *(f"{k} = {q(v)}" for k, v in data["business"].items()), ""]
    lines += ["[hours]", *(f"{k} = {q(v)}" for k, v in data["hours"].items()), ""]
    for m in data["masters"]:
        lines += ["[[masters]]", f"id = {q(m['id'])}", f"name = {q(m['name'])}", ""]
    for s in data["services"]:
        lines += [
            "[[services]]",
            f"id = {q(s['id'])}",
            f"title = {q(s['title'])}",
            f"duration = {s['duration']}",
            f"price = {s['price']}",
            f"masters = {q(s['masters'])}",
            "",
        ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    texts, path = Texts(args.lang), Path(args.path)
    if path.exists() and not args.force:
        print(texts("init.exists", path=path), file=sys.stderr)
        return 2
    print(texts("init.hello"))
    try:
        text = render(questions(Asker(texts)))
    except Aborted:
        print("\n" + texts("init.aborted"), file=sys.stderr)
        return 1
    try:
        config = parse_config(tomllib.loads(text))  # the bot's own loader, before writing
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(
        texts("init.written", path=path, services=len(config.services), masters=len(config.masters))
    )
    return 0
