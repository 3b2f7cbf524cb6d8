"""Small helpers shared by the reminder, SLA and follow-up tests (no fixtures here)."""

from __future__ import annotations

import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

from bot.config import BusinessConfig, parse_config
from bot.models import Outbox
from tests.conftest import ROOT

SAMARA, OMSK = ZoneInfo("Europe/Samara"), ZoneInfo("Asia/Omsk")
OWNER = 9001


def config_with(top: dict | None = None, **sections: dict) -> BusinessConfig:
    """The example salon with some keys changed: `top` for top-level keys, else per section."""
    data = tomllib.loads((ROOT / "examples" / "salon.toml").read_text("utf-8"))
    data.update(top or {})
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return parse_config(data)


def at(tz: ZoneInfo, *parts: int) -> dt.datetime:
    """A local wall-clock moment in `tz`, as UTC (what the database stores)."""
    return dt.datetime(*parts, tzinfo=tz).astimezone(dt.UTC)


def row_actions(row: Outbox) -> list[str]:
    return [action for line in row.payload["buttons"] for _, action in line]


class Recorder:
    """Our own `bot.outbox.Sender`: keeps what would have gone out."""

    def __init__(self) -> None:
        self.sent: list[Outbox] = []

    async def send(self, row: Outbox) -> int:
        self.sent.append(row)
        return len(self.sent)

    @property
    def kinds(self) -> list[str]:
        return [row.kind for row in self.sent]
