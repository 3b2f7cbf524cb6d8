"""A separate process that tries to book many overlapping visits (used by test_no_double_booking).

Usage: python -m tests.race_worker <database url> <seed> <attempts>
Prints the number of bookings it made.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sys
from pathlib import Path

from bot.booking.booker import Booker
from bot.booking.slots import Slot
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import close_db, init_db

ROOT = Path(__file__).resolve().parent.parent
DAY_START = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)  # 10:00 in Samara


def random_slot(rng: random.Random) -> tuple[Slot, str]:
    service_id, minutes = rng.choice([("manicure", 60), ("brows", 30), ("pedicure", 90)])
    start = DAY_START + dt.timedelta(minutes=5 * rng.randrange(0, 48))
    return Slot(start, start + dt.timedelta(minutes=minutes), "olga"), service_id


async def main(url: str, seed: int, attempts: int) -> None:
    config = load_config(ROOT / "examples" / "salon.toml")
    booker = Booker(config, FakeClock(DAY_START - dt.timedelta(days=1)))
    await init_db(url)
    rng = random.Random(seed)
    made = 0
    try:
        for _ in range(attempts):
            slot, service_id = random_slot(rng)
            service = config.service(service_id)
            assert service is not None
            if await booker.book(slot, service, [], None, None) is not None:
                made += 1
    finally:
        await close_db()
    print(made)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
