"""KPI reports at scale: N leads (default 1,000,000) with their events, messages,
appointments and SLA breaches in an SQLite file, then the evening summary, the weekly
report (text; chart data + PNG separately) and /funnel for a month, timed through the
real code (tortoise + aiosqlite), each next to baselines measured in the same run:
a plain `SELECT count(*) FROM lead` over the same range, and the same report with the
indexes of migration 1 dropped.

The generated file is cached by size (data/kpi_bench_<N>.sqlite3), so reruns are quick.

    python bench/kpi_bench.py [--leads 1000000] [--days 730] [--repeat 5] [--fresh]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.i18n import Texts  # noqa: E402
from bot.numbers import kpi, reports  # noqa: E402
from bot.numbers.anomalies import find_anomalies  # noqa: E402
from bot.numbers.charts import weekly_png  # noqa: E402
from bot.periods import Span, month_span  # noqa: E402

SOURCES = ("instagram", "vk", "yandex", "site", "friend", None)
MASTERS = ("anna", "olga", "marina", "dmitry")
MANAGERS = (7001, 7002, 7003, 7004, 7005, 7006)
REASONS = ("дорого", "передумал", "не дозвонились", "нет времени")
END = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)  # «now»: Monday 10:00 in Samara
MIGRATION = ROOT / "migrations" / "models" / "1_20261123000000_kpi_indexes.py"


def sqlite_time(moment: dt.datetime) -> str:
    """What tortoise stores on SQLite (and what sqlite3 makes of a datetime parameter)."""
    return moment.isoformat(" ")


def generate_rows(
    n: int, days: int, rng: random.Random, iso: Callable[[dt.datetime], object]
) -> Iterator[tuple[str, list[tuple]]]:
    """(table, rows) chunks: each lead with its events, messages, visit and breach; `iso`
    turns a moment into what the database takes (text on SQLite, datetime on PostgreSQL)."""
    start = END - dt.timedelta(days=days)
    step = dt.timedelta(days=days) / n
    leads, events, messages, visits, breaches = [], [], [], [], []
    for i in range(1, n + 1):
        created = start + step * (i - 1)
        c = iso(created)
        source = rng.choice(SOURCES)
        waits = rng.random() < 0.4
        manager = rng.choice(MANAGERS) if waits and rng.random() < 0.9 else None
        attention = iso(created + dt.timedelta(minutes=1)) if waits else None
        events.append((i, c, "client", None, "new", "status", None))
        messages.append((i, "in", "client", c))
        messages.append((i, "out", "bot", iso(created + dt.timedelta(seconds=rng.randint(1, 5)))))
        status = "new"
        if manager is not None:
            claim = created + dt.timedelta(minutes=rng.randint(2, 40))
            events.append((i, iso(claim), f"staff:{manager}", "new", "new", "claim", None))
            messages.append((i, "out", f"staff:{manager}", iso(claim)))
            if rng.random() < 0.06:
                kind = rng.choice(("claim", "owner", "human_reply"))
                due = iso(created + dt.timedelta(minutes=16))
                breaches.append((i, kind, due, iso(created + dt.timedelta(minutes=17))))
        roll = rng.random()
        if roll < 0.6:
            status = "qualified"
            events.append(
                (i, iso(created + dt.timedelta(minutes=5)), "bot", "new", status, "status", None)
            )
            if rng.random() < 0.55:
                booked = created + dt.timedelta(minutes=10)
                visit = booked + dt.timedelta(days=rng.randint(1, 7), hours=rng.randint(0, 8))
                outcome = rng.choices(("came", "no_show", "cancelled"), (80, 12, 8))[0]
                if visit > END:
                    outcome = "confirmed"
                paid = rng.randint(10, 50) * 10000 if outcome == "came" else None
                confirmed_at = iso(visit - dt.timedelta(hours=20)) if rng.random() < 0.7 else None
                visits.append(
                    (
                        i,
                        rng.choice(MASTERS),
                        iso(visit),
                        iso(visit + dt.timedelta(hours=1)),
                        paid or 200000,
                        paid,
                        outcome,
                        confirmed_at,
                        iso(booked),
                    )
                )
                events.append((i, iso(booked), "bot", status, "confirmed", "status", None))
                status = "confirmed"
                if outcome in ("came", "no_show"):
                    events.append((i, iso(visit), "staff:7001", status, outcome, "status", None))
                    status = outcome
        elif roll < 0.8:
            reason = rng.choice(REASONS)
            lost = iso(created + dt.timedelta(hours=rng.randint(1, 48)))
            events.append((i, lost, "client", status, "lost", "status", reason))
            status = "lost"
        leads.append(
            (
                i,
                "telegram",
                source,
                "spring" if source == "instagram" else None,
                status,
                manager,
                attention,
                c,
                c,
            )
        )
        if i % 50_000 == 0 or i == n:
            yield "lead", leads
            yield "lead_event", events
            yield "message_log", messages
            yield "appointment", visits
            yield "sla_breach", breaches
            leads, events, messages, visits, breaches = [], [], [], [], []


# Per table: the generated columns, then constant ones appended to every row.
COLUMNS: dict[str, tuple[tuple[str, ...], tuple]] = {
    "lead": (
        (
            *("id", "channel", "source", "campaign", "status", "manager_id", "attention_at"),
            *("created_at", "updated_at", "needs_human"),
        ),
        (False,),
    ),
    "lead_event": (("lead_id", "at", "actor", "from_status", "to_status", "kind", "note"), ()),
    "message_log": (
        ("lead_id", "direction", "author", "at", "channel", "chat_id", "kind"),
        ("telegram", "1", "text"),
    ),
    "appointment": (
        (
            *("lead_id", "master_id", "start", "end", "price_kop", "paid_kop", "status"),
            *("client_confirmed_at", "created_at", "service_id", "addon_ids", "deposit_kop"),
        ),
        ("cut", "[]", 0),
    ),
    "sla_breach": (("lead_id", "kind", "due_at", "detected_at"), ()),
}


def with_constants(table: str, rows: list[tuple]) -> list[tuple]:
    constants = COLUMNS[table][1]
    return [(*row, *constants) for row in rows] if constants else rows


def insert_sql(table: str) -> str:
    columns = COLUMNS[table][0]
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join("?" * len(columns))})'


async def create_schema(path: Path) -> None:
    await init_db(f"sqlite://{path}")
    await close_db()


def fill(path: Path, n: int, days: int) -> dict[str, int]:
    """Bulk insert with executemany in one transaction (no fsync while generating)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    counts: dict[str, int] = {}
    db.execute("BEGIN")
    for table, rows in generate_rows(n, days, random.Random(5), sqlite_time):
        db.executemany(insert_sql(table), with_constants(table, rows))
        counts[table] = counts.get(table, 0) + len(rows)
    db.commit()
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    return counts


def database(n: int, days: int, fresh: bool) -> Path:
    path = ROOT / "data" / f"kpi_bench_{n}_{days}d.sqlite3"
    if path.exists() and not fresh:
        print(f"using the cached {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.0f} MB)")
        return path
    path.parent.mkdir(exist_ok=True)
    for old in path.parent.glob(path.name + "*"):
        old.unlink()
    began = time.perf_counter()
    partial = path.with_suffix(".partial")  # an interrupted run leaves no half-filled cache
    partial.unlink(missing_ok=True)
    asyncio.run(create_schema(partial))
    counts = fill(partial, n, days)
    partial.rename(path)
    took = time.perf_counter() - began
    shown = ", ".join(f"{table} {count:,}" for table, count in counts.items())
    print(f"generated in {took:.1f} s: {shown} ({path.stat().st_size / 1e6:.0f} MB)")
    return path


async def timed(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    """Median wall time in ms of `repeat` runs after one warm-up."""
    await fn()
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        await fn()
        runs.append((time.perf_counter() - began) * 1000)
    return statistics.median(runs)


# Without appointment(lead_id) every per-lead probe scans the appointment table: at 20,000
# leads the weekly text takes ~70× longer (0.57 s against 8 ms); at 1,000,000 it would run
# for many minutes, so the no-index run leaves these out (printed as «—»).
SLOW_UNINDEXED = frozenset({"weekly report text", "weekly text + chart"})


def _migration():
    spec = importlib.util.spec_from_file_location("kpi_indexes", MIGRATION)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


async def measure(
    url: str, repeat: int, label: str, skip: frozenset[str] = frozenset()
) -> dict[str, float]:
    config = load_config(ROOT / "examples" / "salon.toml")
    t = Texts("ru")
    today = END.astimezone(config.tz).date() - dt.timedelta(days=1)  # the last full day
    week = Span(today - dt.timedelta(days=6), today)
    month = month_span(2026, 10)
    await init_db(url)

    async def count(span: Span) -> None:
        await kpi.leads_in(span.period(config))

    async def chart() -> None:
        stages, labels, series = await reports.weekly_chart_data(config, t, week)
        weekly_png("bench", stages, labels, series)

    cases = {
        "evening summary (1 day)": lambda: reports.evening_summary(config, t, today),
        "  baseline count(*) 1 day": lambda: count(Span(today, today)),
        "weekly report text": lambda: reports.weekly_text(config, t, week),
        "weekly chart data + PNG": chart,
        "weekly text + chart": lambda: asyncio.gather(
            reports.weekly_text(config, t, week), chart()
        ),
        "  baseline count(*) 7 days": lambda: count(week),
        "/funnel for a month": lambda: reports.funnel_text(config, t, month),
        "anomaly check (5 weeks)": lambda: find_anomalies(config, t, today),
        "  baseline count(*) month": lambda: count(month),
    }
    out = {}
    try:
        for name, fn in cases.items():
            if name in skip:
                continue
            out[name] = await timed(fn, repeat)
            print(f"  [{label}] {name:<28} {out[name]:9.1f} ms", flush=True)
    finally:
        await close_db()
    return out


def explain(path: Path) -> None:
    """The query plans of the hot KPI queries (the indexes in use)."""
    db = sqlite3.connect(path)
    probes = {
        "conversion": "SELECT COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM appointment a "
        "WHERE a.lead_id = l.id) THEN 1 ELSE 0 END) FROM lead l WHERE l.created_at >= ? "
        "AND l.created_at < ?",
        "confirmed bookings": "SELECT COUNT(*) FROM appointment WHERE created_at >= ? "
        "AND created_at < ?",
        "sla compliance": "SELECT COUNT(*) FROM lead WHERE attention_at >= ? AND attention_at < ?",
    }
    for name, sql in probes.items():
        plan = db.execute("EXPLAIN QUERY PLAN " + sql, ["a", "b"]).fetchall()
        print(f"  {name}: " + " | ".join(row[-1] for row in plan))
    db.close()


def set_indexes(path: Path, on: bool) -> None:
    module = _migration()
    db = sqlite3.connect(path)
    db.executescript(module.UPGRADE if on else module.DOWNGRADE)
    db.close()


# --- PostgreSQL (when PRIYOM_TEST_POSTGRES_URL is set) ----------------------------------------


async def pg_database(url: str, n: int, days: int, fresh: bool) -> None:
    """The same data through COPY; reused while the lead count matches."""
    import asyncpg

    await init_db(url)
    await close_db()
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        if not fresh and await conn.fetchval("SELECT count(*) FROM lead") == n:
            print(f"PostgreSQL: reusing {n:,} leads")
            return
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await init_db(url)
        await close_db()
        began = time.perf_counter()
        for table, rows in generate_rows(n, days, random.Random(5), lambda moment: moment):
            columns = list(COLUMNS[table][0])
            await conn.copy_records_to_table(
                table, records=with_constants(table, rows), columns=columns
            )
        await conn.execute("SELECT setval('lead_id_seq', (SELECT max(id) FROM lead))")
        await conn.execute("ANALYZE")  # what autovacuum does on a live server
        print(f"PostgreSQL: generated in {time.perf_counter() - began:.1f} s")
    finally:
        await conn.close()


async def pg_indexes(url: str, on: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(_migration().UPGRADE if on else _migration().DOWNGRADE)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def report(title: str, with_indexes: dict[str, float], without: dict[str, float]) -> None:
    print(f"\n{title}, median ms:")
    print(f"{'':<30}{'indexes':>10}{'without':>10}  target")
    targets = {"evening summary (1 day)": "< 300", "weekly text + chart": "< 2000"}
    for name, ms in with_indexes.items():
        other = f"{without[name]:10.1f}" if name in without else f"{'—':>10}"
        print(f"{name:<30}{ms:10.1f}{other}  {targets.get(name, '')}")


def run_postgres(url: str, args: argparse.Namespace) -> None:
    asyncio.run(pg_database(url, args.leads, args.days, args.fresh))
    asyncio.run(pg_indexes(url, True))
    with_indexes = asyncio.run(measure(url, args.repeat, "pg indexes"))
    without: dict[str, float] = {}
    if not args.no_baseline_indexes:
        asyncio.run(pg_indexes(url, False))
        try:
            repeat = max(1, args.repeat // 2)
            without = asyncio.run(measure(url, repeat, "pg no migration-1 indexes", SLOW_UNINDEXED))
        finally:
            asyncio.run(pg_indexes(url, True))
    report(f"PostgreSQL, {args.leads:,} leads", with_indexes, without)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="regenerate the cached file")
    parser.add_argument("--no-baseline-indexes", action="store_true", help="skip the no-index run")
    args = parser.parse_args()
    if args.leads < 1000:
        parser.error("--leads: at least 1000")
    path = database(args.leads, args.days, args.fresh)
    set_indexes(path, True)
    explain(path)
    url = f"sqlite://{path}"
    with_indexes = asyncio.run(measure(url, args.repeat, "indexes"))
    without: dict[str, float] = {}
    if not args.no_baseline_indexes:
        set_indexes(path, False)
        try:
            repeat = max(1, args.repeat // 2)
            without = asyncio.run(measure(url, repeat, "no migration-1 indexes", SLOW_UNINDEXED))
        finally:
            set_indexes(path, True)
    report(f"SQLite, {args.leads:,} leads over {args.days} days", with_indexes, without)
    pg_url = os.environ.get("PRIYOM_TEST_POSTGRES_URL", "")
    if pg_url:
        run_postgres(pg_url, args)
    else:
        print("\nPostgreSQL: skipped (set PRIYOM_TEST_POSTGRES_URL to run it too)")


if __name__ == "__main__":
    main()
