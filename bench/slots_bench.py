"""The slot search with schedule overrides: 300 overrides (blocks, days off, sick days,
vacations, extra shifts) and 2,000 visits in the booking horizon, against the same search
with no overrides, measured in the same run on one SQLite file through the real code
(`Booker.find` for the first page, and every free slot of the horizon).

Then the reload of the masters' visits and overrides that follows every booking (the
cached window, all masters of the service): the prepared read of bot.booking.master_times
next to the two ORM queries it replaced, in the same run. And the slot page as a client
step pays for it (inside a step's version snapshot, so the
masters' times come from the process's cache): the week's first and second pages of an
unchanged calendar, and the first page right after another visit was booked (one master's
counter moved), in microseconds per call.

    python bench/slots_bench.py [--visits 2000] [--overrides 300] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.booking import master_times, versions  # noqa: E402
from bot.booking.booker import CACHED_BEFORE, Booker  # noqa: E402
from bot.booking.slots import TimeChange  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.models import OCCUPYING_STATUSES, Appointment, AppointmentStatus  # noqa: E402
from bot.schedule_models import OverrideKind, ScheduleOverride  # noqa: E402

NOW = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)  # Monday 09:00 in Samara
KINDS = [OverrideKind.BLOCK] * 6 + [
    OverrideKind.DAY_OFF,
    OverrideKind.SICK,
    OverrideKind.VACATION,
    OverrideKind.EXTRA_SHIFT,
]


def local(config, day: int, minute: int) -> dt.datetime:
    wall = dt.datetime.combine(NOW.date() + dt.timedelta(days=day), dt.time())
    return (wall.replace(tzinfo=config.tz) + dt.timedelta(minutes=minute)).astimezone(dt.UTC)


async def fill_visits(config, n: int, rng: random.Random) -> None:
    masters = [m.id for m in config.masters]
    rows = []
    for _ in range(n):
        start = local(
            config, rng.randrange(config.booking.horizon_days), rng.randrange(120, 250) * 5
        )
        rows.append(
            Appointment(
                service_id="manicure",
                master_id=rng.choice(masters),
                start=start,
                end=start + dt.timedelta(minutes=30),
                price_kop=150000,
                status=AppointmentStatus.CONFIRMED,
                created_at=NOW,
            )
        )
    await Appointment.bulk_create(rows, batch_size=500)


def make_overrides(config, n: int, rng: random.Random) -> list[dict]:
    masters = [m.id for m in config.masters]
    rows = []
    for _ in range(n):
        kind, day = rng.choice(KINDS), rng.randrange(config.booking.horizon_days)
        if kind in (OverrideKind.BLOCK, OverrideKind.EXTRA_SHIFT):
            start = local(config, day, rng.randrange(96, 240) * 5)
            end = start + dt.timedelta(minutes=rng.choice((30, 60, 90, 120)))
        else:
            start = local(config, day, 0)
            end = local(
                config, day + (rng.randrange(1, 8) if kind is OverrideKind.VACATION else 1), 0
            )
        rows.append({"master_id": rng.choice(masters), "kind": kind, "start": start, "end": end})
    return rows


async def insert_overrides(rows: list[dict]) -> None:
    await ScheduleOverride.bulk_create(
        [ScheduleOverride(created_by=1, created_at=NOW, **row) for row in rows]
    )


async def measure_once(booker: Booker, times: dict[str, list[float]]) -> None:
    """The first page (6 slots of a wish that does not fit: the whole horizon is searched,
    then the nearest others), and every free slot of the horizon over all services."""
    config = booker.config
    today = NOW.astimezone(config.tz).date()
    last = today + dt.timedelta(days=config.booking.horizon_days)
    t0 = time.perf_counter()
    await booker.find("manicure", [], today, today, dt.time(23), None, None, 0, 6)
    times["page"].append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    for service in config.services:
        list(await booker.free_slots(service, [], today, last))
    times["horizon"].append((time.perf_counter() - t0) * 1000)


async def step_pages(booker: Booker, calls: int) -> dict[str, float]:
    """Microseconds per `find` call of a client step: the week's pages 1 and 2 of an
    unchanged calendar, and page 1 after a visit was booked since the last step."""
    config = booker.config
    today = NOW.astimezone(config.tz).date()
    week = (today, today + dt.timedelta(days=6 - today.weekday()))
    rng = random.Random(7)
    spent = {"unchanged, page 1": 0.0, "unchanged, page 2": 0.0, "after a booking": 0.0}
    spent |= {"reload, two ORM queries": 0.0, "reload, one prepared read": 0.0}
    now = booker.clock.now()
    window = (now - CACHED_BEFORE, now + dt.timedelta(days=2 * config.booking.horizon_days + 4))
    masters = ["anna", "olga"]
    for _ in range(calls):
        with versions.snapshot(await versions.read()):
            for offset, key in ((0, "unchanged, page 1"), (6, "unchanged, page 2")):
                t0 = time.perf_counter()
                await booker.find("manicure", [], *week, None, None, None, offset, 6)
                spent[key] += time.perf_counter() - t0
        await fill_visits(config, 1, rng)  # a trigger moves that master's counter
        t0 = time.perf_counter()
        before = await orm_load(masters, *window)
        spent["reload, two ORM queries"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        after = await master_times.load(masters, *window, dict.fromkeys(masters, 0))
        spent["reload, one prepared read"] += time.perf_counter() - t0
        assert before == {m: (t.visits, sorted(t.changes)) for m, t in after.items()}
        with versions.snapshot(await versions.read()):
            await booker.busy(["anna", "olga"], booker.clock.now())  # the reload, not timed
            t0 = time.perf_counter()
            await booker.find("manicure", [], *week, None, None, None, 0, 6)
            spent["after a booking"] += time.perf_counter() - t0
    return {key: total / calls * 1e6 for key, total in spent.items()}


async def orm_load(masters: list[str], since: dt.datetime, until: dt.datetime) -> dict:
    """The masters' visits and overrides as bot.booking.master_times read them before: two
    ORM queries, the driver's datetimes moved to datetime.UTC."""
    visits = await Appointment.filter(
        master_id__in=masters, status__in=OCCUPYING_STATUSES, end__gt=since, start__lt=until
    ).values_list("master_id", "start", "end")
    overrides = await ScheduleOverride.filter(
        master_id__in=masters, undone_at__isnull=True, end__gt=since, start__lt=until
    ).values_list("master_id", "kind", "start", "end")
    found: dict = {m: ([], []) for m in masters}
    for m, start, end in visits:
        found[m][0].append((start.astimezone(dt.UTC), end.astimezone(dt.UTC)))
    for m, kind, start, end in overrides:
        adds = kind == OverrideKind.EXTRA_SHIFT
        found[m][1].append(TimeChange(start.astimezone(dt.UTC), end.astimezone(dt.UTC), adds))
    return {m: (tuple(sorted(v)), sorted(c)) for m, (v, c) in found.items()}


async def main(args: argparse.Namespace) -> None:
    config = load_config(ROOT / "examples" / "salon.toml")
    booker = Booker(config, FakeClock(NOW))
    rng = random.Random(13)
    with tempfile.TemporaryDirectory() as tmp:
        await init_db(f"sqlite://{Path(tmp) / 'bench.sqlite3'}")
        try:
            await fill_visits(config, args.visits, rng)
            overrides = make_overrides(config, args.overrides, rng)
            base: dict[str, list[float]] = {"page": [], "horizon": []}
            changed: dict[str, list[float]] = {"page": [], "horizon": []}
            await measure_once(booker, {"page": [], "horizon": []})  # warm-up
            for _ in range(args.repeat):  # alternating, so machine noise hits both alike
                await measure_once(booker, base)
                await insert_overrides(overrides)
                await measure_once(booker, changed)
                await ScheduleOverride.all().delete()
            await insert_overrides(overrides)
            await step_pages(booker, 5)  # warm-up
            step = await step_pages(booker, args.calls)
        finally:
            await close_db()
    print(f"{args.visits} visits in the horizon, median of {args.repeat} alternating runs (ms)")
    print(f"{'search':<28}{'no overrides':>14}{f'{args.overrides} overrides':>16}{'ratio':>8}")
    for key, title in (("page", "first page (find)"), ("horizon", "every slot, all services")):
        b, c = statistics.median(base[key]), statistics.median(changed[key])
        print(f"{title:<28}{b:>14.1f}{c:>16.1f}{c / b:>7.2f}x")
    print(f"a client step, {args.overrides} overrides, µs per call (slot page: manicure, week)")
    for key, micros in step.items():
        print(f"{key:<28}{micros:>14.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=2000)
    parser.add_argument("--overrides", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
