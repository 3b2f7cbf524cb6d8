"""Shared fixtures: a migrated SQLite database per test, the example config, a fake clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.config import BusinessConfig, load_config
from bot.db import close_db, init_db
from bot.dialogs import DialogService

ROOT = Path(__file__).resolve().parent.parent
SAMARA = ZoneInfo("Europe/Samara")


@pytest.fixture
def config() -> BusinessConfig:
    return load_config(ROOT / "examples" / "salon.toml")


@pytest.fixture
def clock() -> FakeClock:
    # Monday 23 November 2026, 09:00 in Samara: the salon opens at 10:00.
    return FakeClock(dt.datetime(2026, 11, 23, 9, 0, tzinfo=SAMARA))


@pytest.fixture
async def db(tmp_path: Path):
    await init_db(f"sqlite://{tmp_path / 'priyom.sqlite3'}")
    yield tmp_path / "priyom.sqlite3"
    await close_db()


@pytest.fixture
def dialogs(db, config: BusinessConfig, clock: FakeClock) -> DialogService:
    return DialogService(config, clock)
