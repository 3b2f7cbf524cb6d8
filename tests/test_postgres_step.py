"""A plain dialogue step on PostgreSQL is one statement (bot.dialog_store_pg) and keeps
the versioned update's guarantee: a stale step writes nothing and runs again."""

from __future__ import annotations

import pytest
from tortoise import Tortoise

from bot.db import close_db, init_db
from bot.dialogs import DialogService
from bot.models import Conversation, MessageLog
from scenarios.types import Input
from tests import test_step_commit as step_commit
from tests.instances_rig import fresh_database


@pytest.fixture
async def pg_one(postgres_url: str):
    """A freshly migrated database of its own; tortoise's pool has one connection, so a
    query logger on it sees every statement tortoise runs."""
    url = await fresh_database(postgres_url)
    await init_db(f"{url}?maxsize=1")
    yield url
    await close_db()


async def test_a_plain_step_is_one_statement(pg_one, config, clock):
    dialogs = DialogService(config, clock)
    await step_commit.begin(dialogs, "c1")
    statements: list[str] = []
    client = Tortoise.get_connection("default")
    async with client.acquire_connection() as connection:
        connection.add_query_logger(lambda record: statements.append(record.query))
    replies = await dialogs.handle("test", "c1", Input.button("svc:brows"))
    assert replies
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and "message_log" in writes[0]  # no BEGIN, INSERT, UPDATE, COMMIT
    conv = await Conversation.get(chat_id="c1")
    assert conv.version == 3 and conv.state["step"] == "addon"
    rows = await MessageLog.filter(chat_id="c1").order_by("id")
    assert [(r.direction, r.at) for r in rows[-2:]] == [("in", clock.now()), ("out", clock.now())]
    assert {(r.kind, r.client_id, r.lead_id) for r in rows[-2:]} == {
        ("button", conv.client_id, conv.lead_id),
        ("text", conv.client_id, conv.lead_id),
    }


async def test_a_stale_plain_step_writes_nothing_and_runs_again(pg_one, config, clock):
    await step_commit.test_a_plain_step_on_a_stale_copy_runs_again_on_fresh_state(
        pg_one, config, clock
    )
