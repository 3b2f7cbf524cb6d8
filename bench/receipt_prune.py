"""The hourly receipt prune (bot.delivery.step_outbox.prune_receipts) on a full table, next to
the statement it replaced (a channel list: `channel IN (…) AND at < ?`, WhatsApp's kept
forever) on the same rows, in one run:

- "first": `--rows` receipts of `--chats` chats spread over retention + a day (a quarter past
  the retention: the first prune after a long stop, or after this change);
- "hourly": the same spread over retention + an hour (what each hourly pass meets).

Each case is built afresh for each statement; SQLite (a file, WAL) always, PostgreSQL with
`--pg` (a server of its own, from tests.pg_server).

    .venv/bin/python bench/receipt_prune.py [--rows 100000] [--chats 5000] [--pg]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tortoise import Tortoise  # noqa: E402

from bot import raw_sql  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.delivery.step_outbox import RECEIPT_RETENTION, prune_receipts  # noqa: E402

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
CHANNELS = ("telegram", "telegram", "telegram", "whatsapp", "vk", "max")
INSERT = 'INSERT INTO "inbound_message" ("channel", "chat_id", "message_id", "at") VALUES '


async def channel_list(now: dt.datetime) -> int:
    """The statement before: the channels whose receipts only stop redeliveries."""
    cutoff = now - RECEIPT_RETENTION
    sql = 'DELETE FROM "inbound_message" WHERE "channel" IN (?, ?, ?) AND "at" < ?'
    return await raw_sql.execute(sql, ("telegram", "vk", "max", cutoff))


async def fill(rows: int, chats: int, span: dt.timedelta, seed: int) -> None:
    """`rows` receipts, each of a random chat at a random moment within `span` before NOW."""
    rnd = random.Random(seed)
    await raw_sql.execute('DELETE FROM "inbound_message"')
    chunk = 500
    for start in range(0, rows, chunk):
        values = []
        for i in range(start, min(rows, start + chunk)):
            chat = rnd.randrange(chats)
            at = NOW - span * rnd.random()
            values += [CHANNELS[chat % len(CHANNELS)], str(chat), f"m{i}", at]
        sql = INSERT + ", ".join(["(?, ?, ?, ?)"] * (len(values) // 4))
        await raw_sql.execute(sql, values)
    if raw_sql.is_postgres():
        await raw_sql.execute('ANALYZE "inbound_message"')


async def newest_per_chat() -> set[tuple[str, str, str]]:
    sql = 'SELECT "channel", "chat_id", max("at") FROM "inbound_message" GROUP BY 1, 2'
    return {(c, chat, str(at)) for c, chat, at in await raw_sql.fetch(sql)}


async def one(name: str, prune, rows: int, chats: int, span: dt.timedelta) -> None:
    await fill(rows, chats, span, seed=7)
    before = await newest_per_chat()
    wall, cpu = time.perf_counter(), time.process_time()
    deleted = await prune(NOW)
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    left = (await raw_sql.fetch('SELECT count(*) FROM "inbound_message"'))[0][0]
    kept = "yes" if await newest_per_chat() == before else "NO"
    print(f"  {name:<26}{deleted:>9}{left:>9}{wall:>10.1f}{cpu:>9.1f}   {kept}")


async def run(url: str, rows: int, chats: int) -> None:
    await init_db(url)
    for case, extra in (("first", dt.timedelta(days=1)), ("hourly", dt.timedelta(hours=1))):
        span = RECEIPT_RETENTION + extra
        print(f" {case}: {rows} rows, {chats} chats over {span}")
        print(f"  {'':<26}{'deleted':>9}{'left':>9}{'wall ms':>10}{'cpu ms':>9}   newest kept")
        for _ in range(2):  # alternated
            await one("before: channel list", channel_list, rows, chats, span)
            await one("now: all but the newest", prune_receipts, rows, chats, span)
    plan = await Tortoise.get_connection("default").execute_query(
        "EXPLAIN " + ("" if raw_sql.is_postgres() else "QUERY PLAN ") + _plain_prune()
    )
    print("  plan:", *[" | ".join(str(v) for v in dict(r).values()) for r in plan[1]], sep="\n   ")
    await close_db()


def _plain_prune() -> str:
    from bot.delivery.step_outbox import PRUNE

    cutoff = (NOW - RECEIPT_RETENTION).isoformat(sep=" ")
    return PRUNE.replace("?", f"'{cutoff}'", 1).replace("?", "2000", 1)


async def main(rows: int, chats: int, pg: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite")
        await run(f"sqlite://{tmp}/prune.sqlite3", rows, chats)
    if pg:
        from tests.instances_rig import fresh_database
        from tests.pg_server import PostgresServer, find_bin_dir

        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise SystemExit("no PostgreSQL binaries")
        server = PostgresServer(bin_dir)
        try:
            print("PostgreSQL")
            await run(await fresh_database(server.start()), rows, chats)
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chats", type=int, default=5_000)
    parser.add_argument("--pg", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.chats, args.pg))
