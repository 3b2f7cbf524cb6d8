"""The confirm step's prepared SQL on PostgreSQL (tests/test_confirm_hot_path.py there):
numbered parameters, RETURNING through tortoise's connection, the booking's savepoint
after a refused insert, the sends' one UPDATE with its casts, the versioned save."""

from __future__ import annotations

import pytest

from bot.db import close_db, init_db
from tests import test_confirm_hot_path as hot
from tests.instances_rig import fresh_database


@pytest.fixture
async def pg(postgres_url: str):
    url = await fresh_database(postgres_url)
    await init_db(url)
    yield url
    await close_db()


async def test_a_lost_race_leaves_nothing_and_the_transaction_goes_on(pg, config, clock):
    await hot.test_a_lost_race_at_the_cells_leaves_nothing_and_the_step_goes_on(pg, config, clock)


async def test_a_booking_writes_its_visit_and_cells(pg, config, clock):
    await hot.test_a_booking_writes_its_visit_and_cells_as_the_orm_did(pg, config, clock)


async def test_the_versioned_save_writes_all_or_nothing(pg, clock):
    await hot.test_the_versioned_save_writes_all_or_nothing(pg, clock)


async def test_the_sends_are_recorded_each_with_its_own_message_id(pg, clock):
    await hot.test_the_sends_are_recorded_each_with_its_own_message_id(pg, clock)


async def test_a_refused_send_keeps_the_earlier_sent_and_the_later_waiting(pg, clock):
    await hot.test_a_refused_send_keeps_the_earlier_sent_and_the_later_waiting(pg, clock)


async def test_a_step_queued_twice_for_one_version_clashes(pg, clock):
    await hot.test_a_step_queued_twice_for_one_version_clashes(pg, clock)


async def test_a_confirm_through_the_outbox_books_and_sends(pg, config, clock):
    await hot.test_a_confirm_through_the_outbox_books_and_sends(pg, config, clock)


async def test_a_stale_confirm_undoes_its_booking(pg, config, clock):
    await hot.test_a_confirm_on_a_stale_copy_undoes_its_booking_and_runs_again(pg, config, clock)


async def test_consent_of_a_known_client_updates_it_in_place(pg, config, clock):
    await hot.test_consent_of_a_known_client_updates_it_in_place(pg, config, clock)


async def test_a_lead_and_a_client_read_by_id(pg, clock):
    await hot.test_a_lead_and_a_client_read_by_id_are_what_the_orm_reads(pg, clock)
