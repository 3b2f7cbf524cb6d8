"""bot.chat_lock on PostgreSQL: a chat's turn tells the step the conversation as the turn's
previous holder committed it, in the round trip that takes the lock."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from tortoise import Tortoise

from bot import chat_lock
from bot.booking import versions
from bot.db import close_db, init_db
from bot.models import Conversation
from tests.instances_rig import fresh_database, someone_waits_for_a_turn

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)


@pytest.fixture
async def database(postgres_url: str):
    await init_db(await fresh_database(postgres_url))
    yield
    await close_db()


async def test_a_waiting_turn_hears_the_version_committed_while_it_waited(database):
    """The waiter's read starts before the holder's commit and must still see it (a read
    in the lock's own statement would use the snapshot taken before the wait)."""
    conv = await Conversation.create(channel="telegram", chat_id="1", updated_at=NOW, state={})
    heard: list[int] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with chat_lock.chat_turn("telegram", "1", lambda row: heard.append(row["version"])):
            first_in.set()
            while not await someone_waits_for_a_turn():
                await asyncio.sleep(0.01)
            await Conversation.filter(id=conv.id).update(version=conv.version + 1)

    async def second() -> None:
        await first_in.wait()
        async with chat_lock.chat_turn("telegram", "1", lambda row: heard.append(row["version"])):
            pass

    await asyncio.gather(first(), second())
    assert heard == [conv.version, conv.version + 1]


async def test_a_chat_without_a_conversation_hears_none_and_turns_are_released(database):
    heard: list[object] = []
    for _ in range(3):
        async with chat_lock.chat_turn("telegram", "404", heard.append):
            pass
    assert heard == [None] * 3
    sql = "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'"
    _, rows = await Tortoise.get_connection("default").execute_query(sql)
    assert rows[0]["n"] == 0  # the connections went back to the pool without the lock


async def test_the_turn_hears_the_row_as_tortoise_reads_it(database):
    created = await Conversation.create(
        channel="telegram", chat_id="7", updated_at=NOW, state={"step": "time", "n": [1, 2]}
    )
    heard: list[Conversation] = []
    async with chat_lock.chat_turn(
        "telegram", "7", lambda row: heard.append(Conversation._init_from_db(**row))
    ):
        pass
    read = await Conversation.get(id=created.id)
    fields = ("id", "channel", "chat_id", "client_id", "lead_id", "relay_staff_id", "state")
    fields += ("version", "updated_at")
    assert [getattr(heard[0], f) for f in fields] == [getattr(read, f) for f in fields]


async def _bump(key: str) -> None:
    sql = """INSERT INTO cache_version (key, version) VALUES ($1, 1)
        ON CONFLICT (key) DO UPDATE SET version = cache_version.version + 1"""
    await Tortoise.get_connection("default").execute_query(sql, [key])


async def test_a_waiting_turn_hears_the_cache_counters_committed_while_it_waited(database):
    """The turn reads bot.booking.versions' counters with its lock: a counter the holder
    moved while the next turn waited is the one that turn's step reads."""
    await _bump("master:anna")
    heard: list[dict[str, int]] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with chat_lock.chat_turn("telegram", "1", lambda row: None):
            heard.append(await versions.read())
            first_in.set()
            while not await someone_waits_for_a_turn():
                await asyncio.sleep(0.01)
            await _bump("master:anna")
            await _bump("catalog")

    async def second() -> None:
        await first_in.wait()
        async with chat_lock.chat_turn("telegram", "1", lambda row: None):
            heard.append(await versions.read())

    await asyncio.gather(first(), second())
    assert heard == [{"master:anna": 1}, {"master:anna": 2, "catalog": 1}]


async def test_the_turns_counters_serve_its_first_read_only(database):
    """The first read in a turn is the turn's (no query); a step run again reads anew, and
    outside a turn every read is the database's."""
    await _bump("catalog")
    async with chat_lock.chat_turn("telegram", "2", lambda row: None):
        await _bump("catalog")  # committed after the turn read the counters
        assert await versions.read() == {"catalog": 1}
        assert await versions.read() == {"catalog": 2}
    assert await versions.read() == {"catalog": 2}
    async with chat_lock.chat_turn("telegram", "2"):  # the lock alone: no counters
        await _bump("catalog")
        assert await versions.read() == {"catalog": 3}
