"""The step's plumbing shortcuts (issue 16 item 6, round 4) keep what they replace:
outbox rows built without tortoise's init are the rows its init and the database give,
the transaction's context commits, rolls back and gives back its lock as tortoise's
does, and the cached conversation a step leaves is the one saved."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from bot import raw_sql
from bot.booking import versions
from bot.models import Client, Conversation, Outbox
from scenarios.types import Input
from tests.dialog_chat import CHANNEL
from tests.test_confirm_hot_path import queued_rows


def _fields(row: Outbox) -> dict:
    return {name: getattr(row, name) for name in Outbox._meta.fields_map if name != "lead"}


async def test_queued_rows_are_what_the_orm_would_build_and_read_back(db, clock):
    now = clock.now()
    rows = await queued_rows("42", 2, now)
    for index, row in enumerate(rows):
        fields = _fields(row)
        built = Outbox(**{k: v for k, v in fields.items() if k != "id"})
        assert vars(built).keys() - {"id"} <= vars(row).keys()
        assert {k: v for k, v in _fields(built).items() if k != "id"} == {
            k: v for k, v in fields.items() if k != "id"
        }
        assert row._saved_in_db and row.id is not None
        assert row.payload["text"] == f"ответ {index}"
        stored = await Outbox.get(id=row.id)
        assert _fields(stored) == fields
    rows[0].attempts = 3  # a built row saves as an ORM row does (an UPDATE, not an INSERT)
    await rows[0].save()
    assert (await Outbox.get(id=rows[0].id)).attempts == 3
    assert await Outbox.all().count() == 2


async def test_the_transaction_context_commits_rolls_back_and_frees_its_lock(db, clock):
    now = clock.now()
    async with in_transaction():
        await Client.create(channel=CHANNEL, channel_user_id="kept", created_at=now)
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await Client.create(channel=CHANNEL, channel_user_id="undone", created_at=now)
            raise RuntimeError
    async with in_transaction():  # the lock was given back; nothing run: nothing to end
        pass
    ids = await Client.all().values_list("channel_user_id", flat=True)
    assert ids == ["kept"]


async def test_the_cached_conversation_is_the_saved_one(db, dialogs):
    await dialogs.handle(CHANNEL, "7", Input.command("start"))
    cached = dialogs._cache[(CHANNEL, "7")]
    saved = await Conversation.get(channel=CHANNEL, chat_id="7")
    assert (cached.version, cached.state) == (saved.version, saved.state)
    assert cached.updated_at == saved.updated_at
    await dialogs.handle(CHANNEL, "7", Input.command("start"))  # served from the cache
    saved = await Conversation.get(channel=CHANNEL, chat_id="7")
    assert dialogs._cache[(CHANNEL, "7")].version == saved.version == 2
    assert versions.current() is None  # the step's snapshot ended with it


async def test_a_failed_step_ends_its_snapshot(db, dialogs, monkeypatch):
    async def fail(*args: object) -> None:
        assert versions.current() is not None
        raise RuntimeError

    monkeypatch.setattr(dialogs, "_handle_once", fail)
    with pytest.raises(RuntimeError):
        await dialogs.handle(CHANNEL, "8", Input.command("start"))
    assert versions.current() is None


async def test_a_conversation_read_as_committed_is_the_orms(db, dialogs):
    await dialogs.handle(CHANNEL, "9", Input.command("start"))
    assert raw_sql._reader() is not None  # the test runs the loop-thread read
    read = await raw_sql.get_committed(Conversation, channel=CHANNEL, chat_id="9")
    orm = await Conversation.get(channel=CHANNEL, chat_id="9")
    assert read is not None and _columns(read) == _columns(orm)
    assert await raw_sql.get_committed(Conversation, channel=CHANNEL, chat_id="10") is None
    async with in_transaction():  # not committed yet: not read
        await Conversation.create(channel=CHANNEL, chat_id="11", updated_at=orm.updated_at)
        assert await raw_sql.get_committed(Conversation, channel=CHANNEL, chat_id="11") is None
    assert await raw_sql.get_committed(Conversation, channel=CHANNEL, chat_id="11") is not None


def _columns(conv: Conversation) -> dict:
    columns = {name: value for name, value in vars(conv).items() if not name.startswith("_")}
    assert {"client_id", "lead_id", "state", "version", "updated_at"} <= columns.keys()
    return columns
