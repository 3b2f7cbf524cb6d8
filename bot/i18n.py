"""Message catalogs: every text a user reads lives in bot/locales/<locale>.toml."""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from pathlib import Path

LOCALES = Path(__file__).with_name("locales")
DEFAULT_LOCALE = "ru"
DAYS_KEPT = 1_000  # dates named (a booking horizon is 30-60)


class Texts:
    """One locale's catalog plus the formatting of dates and money for it."""

    def __init__(self, locale: str = DEFAULT_LOCALE) -> None:
        self.locale = locale
        self._messages = _load(locale)
        self._days: dict[dt.date, str] = {}  # the names of dates, per catalog
        self._short_days: dict[dt.date, str] = {}

    def __call__(self, key: str, /, **values: object) -> str:
        template = self._messages.get(key)
        if template is None:
            raise KeyError(f"message '{key}' is missing from the {self.locale} catalog")
        return template.format(**values) if values else template

    def __contains__(self, key: str) -> bool:
        return key in self._messages

    def keys(self) -> set[str]:
        return set(self._messages)

    def money(self, kopecks: int) -> str:
        rubles, kop = divmod(kopecks, 100)
        whole = f"{rubles:,}".replace(",", "\u00a0")
        return f"{whole},{kop:02d}\u00a0₽" if kop else f"{whole}\u00a0₽"

    def day(self, day: dt.date) -> str:
        named = self._days.get(day)
        if named is None:
            weekday = self._messages["weekdays"].split()[day.weekday()]
            month = self._messages["months"].split()[day.month - 1]
            named = self("date_format", weekday=weekday, day=day.day, month=month)
            self._keep(self._days, day, named)
        return named

    def short_day(self, day: dt.date) -> str:
        named = self._short_days.get(day)
        if named is None:
            weekday = self._messages["weekdays"].split()[day.weekday()]
            named = f"{weekday} {day:%d.%m}"
            self._keep(self._short_days, day, named)
        return named

    @staticmethod
    def _keep(names: dict[dt.date, str], day: dt.date, named: str) -> None:
        """A date's name, made once per catalog: every slot label and summary names one."""
        if len(names) >= DAYS_KEPT:
            names.clear()
        names[day] = named

    def moment(self, local: dt.datetime) -> str:
        return f"{self.day(local.date())}, {local.hour:02d}:{local.minute:02d}"


@cache
def _load(locale: str) -> dict[str, str]:
    """`<locale>.toml` plus its parts `<locale>.<part>.toml` (client, staff…), one namespace."""
    main = LOCALES / f"{locale}.toml"
    if not main.exists():
        raise ValueError(f"no message catalog for locale '{locale}' (have: ru, en)")
    messages: dict[str, str] = {}
    for path in [main, *sorted(LOCALES.glob(f"{locale}.*.toml"))]:
        with path.open("rb") as fh:
            part = _flatten(tomllib.load(fh))
        clash = messages.keys() & part.keys()
        if clash:
            raise ValueError(f"{path.name}: keys already defined elsewhere: {sorted(clash)}")
        messages.update(part)
    return messages


def _flatten(data: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = str(value)
    return out
