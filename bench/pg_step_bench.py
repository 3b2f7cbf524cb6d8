"""The two PostgreSQL round-trip savings of bot.db_postgres and bot.dialog_store_pg, each
next to what it replaces, alternated in one process on one server (no HTTP, no bots):

- a plain step's commit: a transaction (BEGIN, log rows + versioned update, COMMIT: what a
  step that writes more pays; tortoise's bulk insert and update before branch pgpath) vs
  the one statement alone;
- a read outside a transaction with asyncpg's default pool reset vs none.

    .venv/bin/python bench/pg_step_bench.py [--rounds 3] [--n 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from bot import dialog_store  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.models import Conversation, MessageLog  # noqa: E402
from tests.instances_rig import fresh_database  # noqa: E402
from tests.pg_server import PostgresServer, find_bin_dir  # noqa: E402

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def logs(conv: Conversation) -> list[MessageLog]:
    return [
        MessageLog(channel="telegram", chat_id=conv.chat_id, direction=d, author=a,
                   kind="text", text="привет", at=NOW)
        for d, a in (("in", "client"), ("out", "bot"))
    ]  # fmt: skip


async def tortoise_step(conv: Conversation, version: int) -> bool:
    async with in_transaction():
        return await dialog_store.save(conv, version, {"step": "x"}, NOW, logs(conv))


async def one_statement(conv: Conversation, version: int) -> bool:
    return await dialog_store.commit_alone(conv, version, {"step": "x"}, NOW, logs(conv))


async def timed(n: int, step) -> tuple[float, float]:
    """(ms of wall, ms of this process's CPU) per call."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await step()
    return ((time.perf_counter() - wall) * 1000 / n, (time.process_time() - cpu) * 1000 / n)


async def steps(n: int) -> dict[str, tuple[float, float]]:
    conv = await Conversation.create(channel="telegram", chat_id="1", state={}, updated_at=NOW)
    results = {}
    for name, commit in (("in a transaction", tortoise_step), ("one statement", one_statement)):

        async def step(commit=commit) -> None:
            version = (await Conversation.get(id=conv.id)).version
            assert await commit(conv, version)

        results[name] = await timed(n, step)
    return results


async def reads(url: str, n: int) -> dict[str, tuple[float, float]]:
    from bot import db

    results = {}
    for name, engine in (("read, asyncpg's reset", None), ("read, no reset", "bot.db_postgres")):
        await close_db()
        saved = dict(db.ENGINES)
        if engine is None:
            db.ENGINES.pop("asyncpg", None)
        try:
            await init_db(url, migrate=False)
        finally:
            db.ENGINES.clear()
            db.ENGINES.update(saved)
        results[name] = await timed(n, lambda: Conversation.filter(chat_id="1").first())
    return results


async def main(rounds: int, n: int) -> None:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL binaries")
    server = PostgresServer(bin_dir)
    try:
        url = await fresh_database(server.start())
        await init_db(url)
        print(f"{'':<24}{'wall ms':>9}{'cpu ms':>9}   (per call, {n} calls, {rounds} rounds)")
        for _ in range(rounds):
            await Tortoise.get_connection("default").execute_script(
                "DELETE FROM message_log; DELETE FROM conversation"
            )
            found = await steps(n)
            found.update(await reads(url, n))
            for name, (wall, cpu) in found.items():
                print(f"{name:<24}{wall:>9.3f}{cpu:>9.3f}")
        await close_db()
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.n))
