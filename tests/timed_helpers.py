"""Small helpers and fixtures shared by the reminder, SLA and follow-up tests."""

from __future__ import annotations

import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.config import BusinessConfig, parse_config
from bot.dialogs import DialogService
from bot.models import Outbox
from tests.conftest import ROOT
from tests.test_booking_flow import Chat

SAMARA, OMSK = ZoneInfo("Europe/Samara"), ZoneInfo("Asia/Omsk")
OWNER = 9001

MON_10 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SAMARA)  # a Monday morning, open


@pytest.fixture
def desk(db, config: BusinessConfig, clock: FakeClock) -> DialogService:
    clock.set(MON_10)
    return DialogService(config, clock, owner_ids=frozenset({OWNER}))


@pytest.fixture
def olga(desk: DialogService) -> Chat:
    return Chat(desk, 501, "Ольга")


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
    """Our own `bot.delivery.outbox.Sender`: keeps what would have gone out."""

    def __init__(self) -> None:
        self.sent: list[Outbox] = []

    async def send(self, row: Outbox) -> int:
        self.sent.append(row)
        return len(self.sent)

    @property
    def kinds(self) -> list[str]:
        return [row.kind for row in self.sent]
