"""tortoise's PostgreSQL pool gives connections back without asyncpg's reset round trip
(bot.db_postgres), and still never hands out a connection with a transaction left open."""

from __future__ import annotations

import pytest
from tortoise import Tortoise

from bot import chat_lock
from bot.db import close_db, init_db
from tests.instances_rig import fresh_database


@pytest.fixture
async def one_connection(postgres_url: str):
    """tortoise on an empty database of its own, with a pool of one connection, so every
    query below runs on the connection the one before gave back."""
    url = await fresh_database(postgres_url)
    await init_db(f"{url}?maxsize=1", migrate=False)
    yield Tortoise.get_connection("default")
    await close_db()


async def test_a_connection_comes_back_without_a_reset(one_connection):
    # asyncpg's default reset (RESET ALL among its four statements) would undo the SET.
    await one_connection.execute_script("SET application_name = 'kept'")
    _, rows = await one_connection.execute_query("SHOW application_name")
    assert rows[0]["application_name"] == "kept"


async def test_a_transaction_left_open_is_still_rolled_back(one_connection):
    await one_connection.execute_script("CREATE TABLE probe (x int)")
    async with one_connection.acquire_connection() as connection:
        await connection.execute("BEGIN")
        await connection.execute("INSERT INTO probe VALUES (1)")
    _, rows = await one_connection.execute_query("SELECT count(*) AS n FROM probe")
    assert rows[0]["n"] == 0


async def test_the_chat_lock_finds_the_postgresql_client(one_connection):
    assert chat_lock._postgres_client() is one_connection
