"""A client cancels through the dialogue while 500 clients wait for that day: how long until
the first offer is in the outbox (the cancel's own step, committed), next to the same
cancellation with nobody waiting (the baseline), measured in the same run on SQLite.

Two waitlists: the first in line fits (the usual case), and only the last of the 500 fits:
the others want manicure with gel polish, 90 minutes that the freed hour cannot hold, which
no SQL filter can tell, so every entry is read and looked at (the worst case).

    python bench/waitlist_bench.py [--waiting 500] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import FakeClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.dialogs import DialogService  # noqa: E402
from bot.models import Appointment, Client, Outbox  # noqa: E402
from bot.waitlist_models import WaitlistEntry, WaitlistOffer  # noqa: E402
from scenarios.actions import CancelVisit  # noqa: E402
from tests.conftest import SAMARA  # noqa: E402
from tests.dialog_chat import Chat  # noqa: E402
from tests.waitlist_helpers import TUE, book_the_only_slot, full_tuesday  # noqa: E402

LONGER = ["gel"]  # manicure + gel polish: 90 minutes, more than the freed hour


async def fill_waitlist(count: int, last_only: bool, now: dt.datetime) -> None:
    """`count` clients waiting for Tuesday's manicure (rows, as joining would leave them)."""
    await WaitlistEntry.all().delete()
    await Client.filter(channel_user_id__startswith="w").delete()
    await Client.bulk_create(
        [Client(channel="telegram", channel_user_id=f"w{i}", created_at=now) for i in range(count)]
    )
    clients = await Client.filter(channel_user_id__startswith="w").order_by("id")
    await WaitlistEntry.bulk_create(
        [
            WaitlistEntry(
                client_id=c.id,
                service_id="manicure",
                addon_ids=LONGER if last_only and i < count - 1 else [],
                day_from=TUE,
                day_to=TUE,
                created_at=now,
                expires_at=now + dt.timedelta(days=14),
            )
            for i, c in enumerate(clients)
        ]
    )


async def cancel_round(holder: Chat) -> tuple[float, int]:
    """Book the only slot, cancel it; seconds of the cancel step and offers it queued."""
    visit = await book_the_only_slot(holder)
    await WaitlistOffer.all().delete()
    await Outbox.filter(kind="waitlist_offer").delete()
    started = time.perf_counter()
    await holder.press(CancelVisit(visit.id).pack())
    elapsed = time.perf_counter() - started
    assert (await Appointment.get(id=visit.id)).status == "cancelled"
    return elapsed, await Outbox.filter(kind="waitlist_offer").count()


async def measure(dialogs: DialogService, rounds: int) -> tuple[list[float], int]:
    """Each round a new client (a fresh chat) books and cancels."""
    times, offers = [], 0
    for _ in range(rounds):
        holder = Chat(dialogs, 100 + await Client.all().count())
        elapsed, offers = await cancel_round(holder)
        times.append(elapsed)
    return times, offers


def line(name: str, times: list[float], offers: int, baseline: float | None) -> str:
    median = statistics.median(times) * 1000
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)] * 1000
    extra = f"  (+{median - baseline:.1f} ms vs baseline)" if baseline is not None else ""
    return f"{name:<44} median {median:6.1f} ms  p95 {p95:6.1f} ms  offers {offers}{extra}"


async def main(waiting: int, rounds: int) -> None:
    config = load_config(ROOT / "examples" / "salon.toml")
    clock = FakeClock(dt.datetime(2026, 11, 23, 9, 0, tzinfo=SAMARA))
    with tempfile.TemporaryDirectory() as folder:
        await init_db(f"sqlite://{Path(folder) / 'bench.sqlite3'}")
        try:
            dialogs = DialogService(config, clock)
            await full_tuesday(clock.now())
            await measure(dialogs, 2)  # warm-up: caches, first queries
            base, _ = await measure(dialogs, rounds)
            await fill_waitlist(waiting, last_only=False, now=clock.now())
            first, offers_first = await measure(dialogs, rounds)
            await fill_waitlist(waiting, last_only=True, now=clock.now())
            last, offers_last = await measure(dialogs, rounds)
        finally:
            await close_db()
    baseline = statistics.median(base) * 1000
    print(f"cancellation through the dialogue, SQLite, {rounds} rounds each")
    print(line("baseline: nobody waiting", base, 0, None))
    print(line(f"{waiting} waiting, the first in line fits", first, offers_first, baseline))
    print(line(f"{waiting} waiting, only the last one fits", last, offers_last, baseline))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(main(args.waiting, args.rounds))
