"""/export under load: N leads (and an appointment for every second one) in one month.

Prints the time and the peak Python memory (tracemalloc) of `bot.numbers.export.build_export` —
CSV + CSV + XLSX, rows read in keyset batches — next to a baseline measured in the same run:
the same lead and appointment rows fetched with one query each and written by a bare
csv.writer (no XLSX, no shaping). The baseline is the floor for the CSV part; the memory
column shows what batching saves against holding every row at once.

    python bench/export_bench.py [--leads 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.i18n import Texts  # noqa: E402
from bot.numbers import export, sql  # noqa: E402
from bot.numbers.kpi import Period  # noqa: E402

START = dt.datetime(2026, 10, 31, 20, tzinfo=dt.UTC)  # 1 Nov 00:00 in Samara


def fill(path: Path, leads: int) -> None:
    """Bulk rows straight through sqlite3 (the schema comes from the migrations)."""
    db = sqlite3.connect(path)
    step = 29 * 24 * 3600 / leads
    at = [(START + dt.timedelta(seconds=i * step)).isoformat(" ") for i in range(leads)]
    db.executemany(
        "INSERT INTO client (id, channel, channel_user_id, name, phone, created_at, erased_at) "
        "VALUES (?, 'telegram', ?, ?, ?, ?, ?)",
        (
            (i + 1, str(i), f"Клиент {i}", f"7927{i:07d}", at[i], at[i] if i % 50 == 0 else None)
            for i in range(leads)
        ),
    )
    db.executemany(
        "INSERT INTO lead (id, client_id, channel, source, campaign, status, needs_human, "
        "manager_id, created_at, updated_at) VALUES (?, ?, 'telegram', ?, 'spring', ?, 0, ?, ?, ?)",
        (
            (i + 1, i + 1, ("instagram", "vk", "site")[i % 3], ("new", "came", "lost")[i % 3],
             7001 if i % 2 else None, at[i], at[i])
            for i in range(leads)
        ),
    )  # fmt: skip
    db.executemany(
        "INSERT INTO appointment (id, lead_id, client_id, service_id, addon_ids, master_id, "
        "start, \"end\", price_kop, deposit_kop, paid_kop, status, created_at) "
        "VALUES (?, ?, ?, 'manicure', '[]', 'anna', ?, ?, 150000, 0, ?, ?, ?)",
        (
            (i // 2 + 1, i + 1, i + 1, at[i], at[i], 150001 if i % 4 == 0 else None,
             "came" if i % 4 == 0 else "confirmed", at[i])
            for i in range(0, leads, 2)
        ),
    )  # fmt: skip
    db.commit()
    db.close()


async def baseline(period: Period) -> tuple[int, int]:
    """All rows at once, bare csv.writer: the CSV floor."""
    sizes = []
    for table, column in (("lead", "created_at"), ("appointment", "start")):
        rows = await sql.rows(
            f"SELECT * FROM {table} WHERE {column} >= ? AND {column} < ?",
            [period.start, period.end],
        )
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        sizes.append(len(text.getvalue().encode()))
    return sizes[0], sizes[1]


async def measure(name: str, make) -> None:
    started = time.perf_counter()
    result = await make()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    await make()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{name:<44} {seconds:7.2f} s   peak {peak / 2**20:7.1f} MiB   {result}")


async def main(leads: int) -> None:
    config = load_config(ROOT / "examples" / "salon.toml")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        await init_db(f"sqlite://{path}")
        await close_db()
        fill(path, leads)
        await init_db(f"sqlite://{path}")
        period = Period.month(config, 2026, 11)
        texts = Texts("ru")
        print(f"{leads} leads, {leads // 2} appointments in November 2026 (SQLite)")

        async def full():
            files = await export.build_export(config, texts, period)
            return (
                f"csv {len(files.leads_csv) / 2**20:.1f}+{len(files.appointments_csv) / 2**20:.1f}"
                f" MiB, xlsx {len(files.xlsx) / 2**20:.1f} MiB"
            )

        async def csv_floor():
            a, b = await baseline(period)
            return f"csv {a / 2**20:.1f}+{b / 2**20:.1f} MiB"

        await measure("baseline: one query per table + csv.writer", csv_floor)
        await measure("/export: batched CSV + CSV + XLSX", full)
        await close_db()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().leads))
