"""The same guarantees on PostgreSQL: set PRIYOM_TEST_POSTGRES_URL to run them.

`make test` runs on the embedded SQLite default; this file proves "change the URL and
it works" on a real PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/priyom_test).
"""

from __future__ import annotations

import os

import pytest
from tortoise import Tortoise

from bot.db import close_db, init_db
from bot.dialogs import DialogService
from bot.models import Lead, LeadEvent
from scenarios.types import Input
from tests import test_no_double_booking as races

URL = os.environ.get("PRIYOM_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not URL, reason="PRIYOM_TEST_POSTGRES_URL is not set")


@pytest.fixture
async def pg():
    await init_db(URL)
    connection = Tortoise.get_connection("default")
    await connection.execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await close_db()
    await init_db(URL)  # the checked-in migration, PostgreSQL dialect
    yield URL
    await close_db()


async def test_fifty_tasks_race_for_one_slot(pg, config, clock):
    await races.test_fifty_tasks_race_for_one_slot(pg, config, clock)


async def test_overlapping_slots_of_different_lengths(pg, config, clock):
    await races.test_overlapping_slots_of_different_lengths(pg, config, clock)


async def test_several_processes_never_double_book(pg):
    await races.race_processes(pg)
    assert await races.assert_no_overlaps() >= 1


async def test_a_booking_dialogue(pg, config, clock):
    dialogs = DialogService(config, clock)
    await races.drive_to_summary(dialogs, "pg-1")
    replies = await dialogs.handle("test", "pg-1", Input.button("confirm"))
    assert "Заявка принята" in replies[-1].text
    events = await LeadEvent.filter(lead=await Lead.get()).values_list("to_status", flat=True)
    assert list(events) == ["new", "qualified"]
