"""A plain dialogue step on PostgreSQL is one statement (bot.dialog_store_pg) and keeps
the versioned update's guarantee: a stale step writes nothing and runs again. A step that
writes more takes a transaction, whose log rows and update are that same one statement."""

from __future__ import annotations

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bot import dialog_store
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


async def test_a_copy_outdated_elsewhere_is_replaced_by_the_turns_read(pg_one, config, clock):
    """The turn reads the conversation with the lock: the step neither reads it again
    through tortoise nor runs twice (once on the stale copy, once on fresh state)."""
    here, there = DialogService(config, clock), DialogService(config, clock)
    await step_commit.begin(here, "c1")  # `here` caches the conversation at version 2
    await there.handle("test", "c1", Input.button("svc:brows"))  # version 3, elsewhere
    statements: list[str] = []
    async with Tortoise.get_connection("default").acquire_connection() as connection:
        connection.add_query_logger(lambda record: statements.append(record.query))
    assert await here.handle("test", "c1", Input.button("addon:none"))
    assert not [s for s in statements if 'FROM "conversation"' in s]
    assert len([s for s in statements if "message_log" in s]) == 1  # committed once
    conv = await Conversation.get(chat_id="c1")
    assert conv.version == 4 and conv.state["step"] == "time"


@pytest.fixture
async def pg(postgres_url: str):
    """A freshly migrated database with tortoise's usual pool: a write that escaped the
    step's transaction would commit on another connection rather than wait for this one."""
    await init_db(await fresh_database(postgres_url))
    yield
    await close_db()


class _Later(Exception):
    """A failure after the log rows and the update, within the step's transaction."""


def _logs(clock, chat: str, texts: list[str]) -> list[MessageLog]:
    return [
        MessageLog(
            channel="test",
            chat_id=chat,
            direction="in",
            author="client",
            kind="text",
            text=text,
            at=clock.now(),
        )
        for text in texts
    ]


async def test_a_steps_transaction_saves_its_log_rows_and_update_as_one_statement(pg, clock):
    conv = await Conversation.create(channel="test", chat_id="t1", updated_at=clock.now())
    statements: list[str] = []
    async with in_transaction() as transaction:
        async with transaction.acquire_connection() as connection:
            connection.add_query_logger(lambda record: statements.append(record.query))
        saved = await dialog_store.save(
            conv, 0, {"step": "x"}, clock.now(), _logs(clock, "t1", ["a", "b"])
        )
    writes = [s for s in statements if "message_log" in s or "conversation" in s]
    assert saved and len(writes) == 1 and "message_log" in writes[0] and "UPDATE" in writes[0]
    conv = await Conversation.get(id=conv.id)
    assert (conv.version, conv.state, conv.updated_at) == (1, {"step": "x"}, clock.now())
    rows = await MessageLog.filter(chat_id="t1").order_by("id")
    assert [(r.text, r.at, r.direction) for r in rows] == [
        ("a", clock.now(), "in"),
        ("b", clock.now(), "in"),
    ]


async def test_the_log_rows_and_update_roll_back_with_the_steps_transaction(pg, clock):
    conv = await Conversation.create(channel="test", chat_id="t2", updated_at=clock.now())
    with pytest.raises(_Later):
        async with in_transaction():
            assert await dialog_store.save(
                conv, 0, {"step": "x"}, clock.now(), _logs(clock, "t2", ["a"])
            )
            raise _Later
    assert (await Conversation.get(id=conv.id)).version == 0
    assert not await MessageLog.filter(chat_id="t2").exists()


async def test_a_stale_version_in_a_transaction_writes_nothing(pg, clock):
    conv = await Conversation.create(
        channel="test", chat_id="t3", updated_at=clock.now(), version=4
    )
    async with in_transaction():
        assert not await dialog_store.save(
            conv, 3, {"step": "x"}, clock.now(), _logs(clock, "t3", ["a"])
        )
    assert (await Conversation.get(id=conv.id)).version == 4
    assert not await MessageLog.filter(chat_id="t3").exists()
