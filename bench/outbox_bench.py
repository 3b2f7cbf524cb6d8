"""Reminder delivery under load: N reminders due in the same minute, through a fake Bot API.

Prints the achieved msg/s against the configured per-bot limit, duplicates, lost
messages, and how late SLA escalations went out after their deadlines — next to the
raw throughput of the same aiogram Bot against the same fake server (the baseline),
so it is clear the limiter, not the HTTP stack, paces delivery.

    python bench/outbox_bench.py [--reminders 2000] [--rate 25] [--escalations 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.booking.reminders import queue_due_reminders  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.delivery.ratelimit import LocalRateLimiter  # noqa: E402
from bot.i18n import Texts  # noqa: E402
from bot.models import (  # noqa: E402
    Appointment,
    AppointmentStatus,
    Client,
    Lead,
    Outbox,
    OutboxStatus,
    SlaBreach,
)
from handlers.telegram_outbox import TelegramSender  # noqa: E402
from tests.fakes.bot_api import FakeBotApi  # noqa: E402
from workers import embedded  # noqa: E402
from workers.timed import TimedWork  # noqa: E402

CLIENT, STAFF = "100001:bench-client", "100002:bench-staff"
OWNER = 9001
# Monday 12:00 in Samara: working time, so SLA minutes run during the benchmark.
BASE = dt.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Samara")).astimezone(dt.UTC)


class FollowingClock:
    """Business time that moves with real time from BASE, so deadlines pass during the run."""

    def __init__(self) -> None:
        self.started = time.time()  # the fake Bot API stamps calls with time.time()

    def now(self) -> dt.datetime:
        return BASE + dt.timedelta(seconds=time.time() - self.started)

    def real(self, moment: dt.datetime) -> float:
        return self.started + (moment - BASE).total_seconds()


async def seed(reminders: int, escalations: int) -> None:
    """Clients with a visit tomorrow at this time (the 24 h reminder is due now)."""
    await Client.bulk_create(
        [
            Client(
                channel="telegram",
                channel_user_id=str(10_000 + i),
                name=f"Клиент {i}",
                phone="+79270000000",
                consent_at=BASE,
                created_at=BASE,
            )
            for i in range(reminders)
        ],
        batch_size=1000,
    )
    ids = await Client.all().order_by("id").values_list("id", flat=True)
    start = BASE + dt.timedelta(hours=24)
    await Appointment.bulk_create(
        [
            Appointment(
                client_id=cid,
                service_id="manicure",
                addon_ids=[],
                master_id="anna",
                start=start,
                end=start + dt.timedelta(hours=1),
                price_kop=150000,
                status=AppointmentStatus.CONFIRMED,
                created_at=BASE - dt.timedelta(days=3),
            )
            for cid in ids
        ],
        batch_size=1000,
    )
    # Leads waiting for a human whose 15-minute claim deadline falls 10, 12, 14… s into the
    # run: two seconds apart, since all go to the one owner chat (Telegram: ~1 msg/s a chat).
    await Lead.bulk_create(
        [
            Lead(
                channel="telegram",
                status="new",
                needs_human=True,
                handoff_reason="not_understood",
                attention_at=BASE - dt.timedelta(minutes=15) + dt.timedelta(seconds=10 + 2 * i),
                created_at=BASE,
                updated_at=BASE,
            )
            for i in range(escalations)
        ]
    )


async def baseline(api: FakeBotApi, count: int, senders: int = 8) -> float:
    """msg/s of the bare aiogram Bot against the fake server, no limiter."""
    bot = api.make_bot("100003:bench-raw", parse_mode=None)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def sender() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            await bot.send_message(20_000 + i, "baseline")

    began = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    elapsed = time.perf_counter() - began
    await bot.session.close()
    return count / elapsed


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(reminders: int, rate: float, escalations: int) -> int:
    config = load_config(ROOT / "examples" / "salon.toml")
    texts = Texts("ru")
    with tempfile.TemporaryDirectory() as folder:
        await init_db(f"sqlite://{folder}/bench.sqlite3")
        try:
            async with FakeBotApi() as api:
                raw = await baseline(api, min(2000, reminders))
                await seed(reminders, escalations)
                clock = FollowingClock()
                began = time.perf_counter()
                queued = await queue_due_reminders(config, texts, clock.now())
                queue_s = time.perf_counter() - began
                bots = {
                    "client": api.make_bot(CLIENT, parse_mode=None),
                    "staff": api.make_bot(STAFF, parse_mode=None),
                }
                work = TimedWork(config, texts, clock, frozenset({OWNER}))
                limiter = LocalRateLimiter(rate, 1.0)
                sender = TelegramSender(bots)
                deadline = clock.now() + dt.timedelta(seconds=2 * escalations + 15)
                while (
                    await Outbox.filter(status=OutboxStatus.PENDING).exists()
                    or clock.now() < deadline
                ):
                    await embedded.tick(work, sender, limiter)
                    await asyncio.sleep(0.01)
                return await report(api, clock, queued, queue_s, rate, raw, reminders)
        finally:
            for bot in locals().get("bots", {}).values():
                await bot.session.close()
            await close_db()


async def report(
    api: FakeBotApi,
    clock: FollowingClock,
    queued: int,
    queue_s: float,
    rate: float,
    raw: float,
    expected: int,
) -> int:
    sent = [c for c in api.calls(CLIENT, "sendMessage") if c.ok]
    times = [c.at for c in sent]
    span = max(times) - min(times) if len(times) > 1 else float("nan")
    achieved = (len(sent) - 1) / span if span else float("nan")
    per_chat = Counter(c.chat_id for c in sent)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    lost = expected - len(per_chat)
    escalations = {c.params["text"]: c.at for c in api.calls(STAFF, "sendMessage") if c.ok}
    lateness = []
    for breach in await SlaBreach.filter(kind="claim"):  # the 15-minute unclaimed lead
        told = [at for text, at in escalations.items() if f"#{breach.lead_id} " in text]
        if told:
            lateness.append(min(told) - clock.real(breach.due_at))
    print(f"{'':28}{'value':>12}  target")
    print(f"{'baseline: raw Bot API msg/s':28}{raw:>12.0f}  (8 senders, no limiter)")
    print(f"{'reminders queued':28}{queued:>12}  in {queue_s:.2f} s")
    print(
        f"{'achieved msg/s':28}{achieved:>12.1f}  limit {rate:g}: "
        f"{100 * achieved / rate:.1f} % (≥ 95 %)"
    )
    print(f"{'duplicates':28}{duplicates:>12}  0")
    print(f"{'lost':28}{lost:>12}  0")
    print(f"{'SLA escalations':28}{len(lateness):>12}")
    print(
        f"{'lateness p50 / p99 / max s':28}{pct(lateness, 0.5):>12.2f}  "
        f"{pct(lateness, 0.99):.2f} / {max(lateness, default=float('nan')):.2f} (p99 < 5 s)"
    )
    if lateness:
        print(f"{'lateness mean s':28}{statistics.fmean(lateness):>12.2f}")
    return 0 if duplicates == 0 and lost == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=25.0, help="per-bot limit, msg/s")
    parser.add_argument("--escalations", type=int, default=20)
    args = parser.parse_args()
    return asyncio.run(run(args.reminders, args.rate, args.escalations))


if __name__ == "__main__":
    sys.exit(main())
