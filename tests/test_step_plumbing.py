"""The step's storage plumbing on SQLite (bot.db_sqlite, bot.dialog_store): a transaction's
BEGIN rides with its first statement, a one-call write skips tortoise's lock only when no
transaction of this process can be open, and the state is written as tortoise writes it."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from typing import Any

import pytest
from tortoise import Tortoise, connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from bot import db_sqlite, dialog_store, raw_sql
from bot.dialog_store import LogRow
from bot.models import Client, Conversation, Lead, LeadEvent, LeadStatus, MessageLog
from bot.staffwork.leads import move_lead, open_lead
from tests.test_step_commit import count_round_trips

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
INSERT_LOG = (
    'INSERT INTO "message_log" ("channel", "chat_id", "direction", "author", "kind", "at") '
    "VALUES ('test', ?, 'in', 'client', 'text', ?)"
)


class Rollback(Exception):
    pass


async def logged(chat_id: str) -> int:
    return await MessageLog.filter(chat_id=chat_id).count()


async def test_a_transaction_begins_with_its_first_statement(db):
    calls: list[str] = []
    restore = count_round_trips(calls)
    try:
        async with in_transaction():
            await raw_sql.execute(INSERT_LOG, ("b1", NOW))
            await raw_sql.execute(INSERT_LOG, ("b1", NOW))
    finally:
        restore()
    assert len(calls) == 3, calls  # two statements and COMMIT: no BEGIN of its own
    assert await logged("b1") == 2


async def test_the_first_statement_runs_inside_the_transaction(db):
    """BEGIN IMMEDIATE precedes it in the same call: its write rolls back with the rest."""
    with pytest.raises(Rollback):
        async with in_transaction():
            await raw_sql.execute(INSERT_LOG, ("b2", NOW))
            raise Rollback
    assert await logged("b2") == 0
    assert not Tortoise.get_connection("default")._connection.in_transaction


async def test_a_transaction_ended_before_any_statement_sends_nothing(db):
    calls: list[str] = []
    restore = count_round_trips(calls)
    try:
        async with in_transaction():
            pass
        with pytest.raises(Rollback):
            async with in_transaction():
                raise Rollback
    finally:
        restore()
    assert calls == []
    async with in_transaction():  # and the next one begins as usual
        await raw_sql.execute(INSERT_LOG, ("b3", NOW))
    assert await logged("b3") == 1


async def test_a_savepoint_as_first_statement_is_inside_the_transaction(db):
    with pytest.raises(Rollback):
        async with in_transaction():
            async with in_transaction():  # its SAVEPOINT carries the BEGIN
                await raw_sql.execute(INSERT_LOG, ("b4", NOW))
            raise Rollback
    assert await logged("b4") == 0


async def test_statements_after_a_failed_begin_stay_in_the_transaction(db, monkeypatch):
    """The write lock is held elsewhere past the busy timeout: the first statement fails.
    A caller that swallows that error must not get its later statements committed one by
    one: they run in the transaction its context rolls back."""
    monkeypatch.setattr(db_sqlite, "BEGIN_ATTEMPTS", 1)
    client = Tortoise.get_connection("default")
    await client.execute_script("PRAGMA busy_timeout = 20")
    elsewhere = sqlite3.connect(db, isolation_level=None)
    elsewhere.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Rollback):
            async with in_transaction():
                with pytest.raises(OperationalError):
                    await raw_sql.execute(INSERT_LOG, ("b5", NOW))
                elsewhere.execute("ROLLBACK")  # the lock is free again
                await raw_sql.execute(INSERT_LOG, ("b5", NOW))
                raise Rollback
    finally:
        if elsewhere.in_transaction:
            elsewhere.execute("ROLLBACK")
        elsewhere.close()
    assert await logged("b5") == 0


async def test_a_plain_commit_waits_for_a_transaction_of_this_process(db):
    """commit_alone goes straight to aiosqlite's thread only while tortoise's lock is free:
    queued in the middle of another task's transaction, its BEGIN would fail there (or its
    rows would join that transaction)."""
    conv = await Conversation.create(channel="test", chat_id="w1", updated_at=NOW, state={})
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def open_transaction() -> None:
        with pytest.raises(Rollback):
            async with in_transaction():
                await raw_sql.execute(INSERT_LOG, ("w2", NOW))
                inside.set()
                await go_on.wait()
                raise Rollback

    async def plain_step() -> bool:
        await inside.wait()
        row = LogRow("test", "w1", None, None, "in", "client", "text", None, NOW)
        step = dialog_store.commit_alone(conv, conv.version, {"step": "x"}, NOW, [row])
        task = asyncio.ensure_future(step)
        await asyncio.sleep(0.05)
        go_on.set()
        return await task

    _, saved = await asyncio.gather(open_transaction(), plain_step())
    assert saved
    assert (await logged("w1"), await logged("w2")) == (1, 0)
    assert (await Conversation.get(id=conv.id)).state == {"step": "x"}


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"step": "done", "name": "Пётр", "history": [{"a": 1}, None], "page": 0, "x": 1.5},
        {"nested": {"deep": ["ё", True, False]}, "emoji": "🙂", "quote": 'a"b\\c'},
    ],
)
def test_the_state_is_written_as_tortoise_writes_it(state: dict[str, Any]):
    conv = Conversation(channel="test", chat_id="j1", updated_at=NOW, state=state)
    conv.id = 1
    update = dialog_store._update_values(conv, 3, state, NOW)
    field = Conversation._meta.fields_map["state"]
    assert update[0] == field.to_db_value(state, Conversation)


async def test_rows_read_together_are_what_the_orm_reads(db):
    """by_ids (a confirm's lead and client) in one round trip, each as tortoise builds it."""
    client = await Client.create(
        channel="test", channel_user_id="r1", name="Ольга", phone="+79271234567",
        consent_at=NOW, created_at=NOW,
    )  # fmt: skip
    lead = await Lead.create(
        channel="test", client_id=client.id, source="vk", status="qualified",
        needs_human=True, attention_at=NOW, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    calls: list[str] = []
    restore = count_round_trips(calls)
    try:
        read_lead, read_client = await raw_sql.by_ids((Lead, lead.id), (Client, client.id))
    finally:
        restore()
    assert len(calls) == 1
    for raw, orm in ((read_lead, await Lead.get(id=lead.id)), (read_client, client)):
        fields = type(orm)._meta.fields_db_projection
        assert {f: (getattr(raw, f), type(getattr(raw, f))) for f in fields} == {
            f: (getattr(orm, f), type(getattr(orm, f))) for f in fields
        }
    missing = await raw_sql.by_ids((Lead, None), (Client, client.id + 100), (Lead, lead.id))
    assert missing[:2] == [None, None] and missing[2].id == lead.id


async def test_statements_sent_together_run_in_order_in_the_transaction(db):
    """A later statement's values come from the rows before it; a failing one raises as
    tortoise's statements do and everything of the transaction rolls back."""
    insert = INSERT_LOG + ' RETURNING "id"'
    again = 'INSERT INTO "message_log" ("id", "channel", "chat_id", "direction", "author", '
    again += "\"kind\", \"at\") VALUES (?, 'test', 'f1', 'in', 'client', 'text', ?)"
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await raw_sql.fetch_each(
                [(insert, ("f1", NOW)), (again, lambda rows: (rows[0][0][0], NOW))]
            )
    assert await logged("f1") == 0


async def test_a_lead_opens_with_its_event_in_one_round_trip(db):
    calls: list[str] = []
    restore = count_round_trips(calls)
    try:
        async with in_transaction():
            lead = await open_lead(
                channel="test", client_id=None, source="vk", campaign=None, now=NOW
            )
            await move_lead(lead, LeadStatus.QUALIFIED, actor="bot", now=NOW)
    finally:
        restore()
    assert len(calls) == 3, calls  # open, move, COMMIT (BEGIN rides with the first)
    stored = await Lead.get(id=lead.id)
    assert (stored.status, stored.created_at, stored.source) == (LeadStatus.QUALIFIED, NOW, "vk")
    events = await LeadEvent.filter(lead_id=lead.id).order_by("id")
    assert [(e.from_status, e.to_status, e.actor, e.at) for e in events] == [
        (None, LeadStatus.NEW, "client", NOW),
        (LeadStatus.NEW, LeadStatus.QUALIFIED, "bot", NOW),
    ]


async def test_the_current_client_is_the_one_tortoise_gives(db):
    """Outside a transaction the client, inside one its wrapper (in a savepoint and in a
    task started within it too): as `connections.get` answers."""
    root = connections.get("default")
    assert raw_sql.current_client() is root
    elsewhere: list[Any] = []
    async with in_transaction():
        outer = raw_sql.current_client()
        assert outer is connections.get("default") and outer is not root
        await asyncio.gather(asyncio.create_task(_current(elsewhere)))
        async with in_transaction():
            assert raw_sql.current_client() is connections.get("default") is not root
        assert raw_sql.current_client() is outer
    assert raw_sql.current_client() is root
    assert elsewhere == [outer, outer]


async def _current(into: list[Any]) -> None:
    into += [raw_sql.current_client(), connections.get("default")]
