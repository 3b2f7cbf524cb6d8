"""SLA escalations under a reminder backlog: 10,000 reminders due at once, and leads going
over their claim SLA during the run; how late each escalation reaches the fake Bot API.

The same scenario runs twice in this run, each in its own process on its own SQLite file:
the baseline is the code of a git revision before this work (`--baseline`, extracted with
`git archive`), the other this checkout. Both run the embedded timed work as the bot does
(`workers.embedded.run_forever` with the local rate limiter, 25 msg/s, 1 s per chat).
Business time follows real time from a fixed Monday noon (the working-time clock needs
time to pass); lateness is real time from a deadline to the fake server's receipt. It also
times the reminder scan once the backlog is queued, as the loop makes it every 30 s.

    python bench/sla_bench.py [--reminders 10000] [--escalations 20] [--baseline 9e99322]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import inspect
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "9e99322"  # main before the urgent loop, time-bounded passes and incremental scan
CLIENT, STAFF = "100001:bench-client", "100002:bench-staff"
OWNER = 9001
BASE = dt.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/Samara")).astimezone(dt.UTC)
FIRST_DEADLINE_S, SPACING_S, TAIL_S = 5, 3, 10  # one owner chat: about 1 message a second


class FollowingClock:
    """Business time that moves with real time from BASE, so deadlines pass during the run."""

    def __init__(self) -> None:
        self.started = time.time()  # the fake Bot API stamps calls with time.time()

    def now(self) -> dt.datetime:
        return BASE + dt.timedelta(seconds=time.time() - self.started)

    def real(self, moment: dt.datetime) -> float:
        return self.started + (moment - BASE).total_seconds()


async def seed(models, reminders: int, escalations: int) -> None:
    """Clients with a visit tomorrow at noon (the 24 h reminder is due now), and leads whose
    15-minute claim deadline falls 5, 8, 11, … s into the run."""
    await models.Client.bulk_create(
        [
            models.Client(
                channel="telegram",
                channel_user_id=str(10_000 + i),
                name=f"Клиент {i}",
                consent_at=BASE,
                created_at=BASE,
            )
            for i in range(reminders)
        ],
        batch_size=1000,
    )
    ids = await models.Client.all().order_by("id").values_list("id", flat=True)
    start = BASE + dt.timedelta(hours=24)
    await models.Appointment.bulk_create(
        [
            models.Appointment(
                client_id=cid,
                service_id="manicure",
                addon_ids=[],
                master_id="anna",
                start=start,
                end=start + dt.timedelta(hours=1),
                price_kop=150000,
                status=models.AppointmentStatus.CONFIRMED,
                created_at=BASE - dt.timedelta(days=3),
            )
            for cid in ids
        ],
        batch_size=1000,
    )
    await models.Lead.bulk_create(
        [
            models.Lead(
                channel="telegram",
                status="new",
                needs_human=True,
                handoff_reason="not_understood",
                attention_at=BASE
                - dt.timedelta(minutes=15)
                + dt.timedelta(seconds=FIRST_DEADLINE_S + SPACING_S * i),
                created_at=BASE,
                updated_at=BASE,
            )
            for i in range(escalations)
        ]
    )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def scenario(reminders: int, escalations: int) -> dict:
    """One run on the code importable now (see `child`)."""
    from bot import models
    from bot.booking.reminders import queue_due_reminders
    from bot.config import load_config
    from bot.db import close_db, init_db
    from bot.delivery.ratelimit import LocalRateLimiter
    from bot.i18n import Texts
    from handlers.telegram_outbox import TelegramSender
    from tests.fakes.bot_api import FakeBotApi
    from workers import embedded
    from workers.timed import TimedWork

    config = load_config(ROOT / "examples" / "salon.toml")
    texts = Texts("ru")
    with tempfile.TemporaryDirectory() as folder:
        await init_db(f"sqlite://{folder}/bench.sqlite3")
        async with FakeBotApi() as api:
            bots = {
                "client": api.make_bot(CLIENT, parse_mode=None),
                "staff": api.make_bot(STAFF, parse_mode=None),
            }
            try:
                await seed(models, reminders, escalations)
                clock = FollowingClock()
                work = TimedWork(config, texts, clock, frozenset({OWNER}))
                limiter = LocalRateLimiter(25, 1.0)
                loop = asyncio.create_task(
                    embedded.run_forever(work, TelegramSender(bots), limiter)
                )
                await asyncio.sleep(FIRST_DEADLINE_S + SPACING_S * escalations + TAIL_S)
                loop.cancel()
                await asyncio.gather(loop, return_exceptions=True)
                result = await measure(models, api, clock)
                # the loop's next look, a minute on: nothing new is due by then
                later = clock.now() + dt.timedelta(minutes=1)
                incremental = "since" in inspect.signature(queue_due_reminders).parameters
                since = {"since": later - dt.timedelta(seconds=30)} if incremental else {}
                began = time.perf_counter()
                await queue_due_reminders(config, texts, later, **since)
                result["scan_s"] = time.perf_counter() - began
                result["queued"] = await models.Outbox.filter(kind="reminder").count()
            finally:
                for bot in bots.values():
                    await bot.session.close()
                await close_db()
    return result


async def measure(models, api, clock: FollowingClock) -> dict:
    staff = [c for c in api.calls(STAFF, "sendMessage") if c.ok]
    lateness = []
    for breach in await models.SlaBreach.filter(kind="claim"):
        told = [c.at for c in staff if f"#{breach.lead_id} " in c.params["text"]]
        if told:
            lateness.append(min(told) - clock.real(breach.due_at))
    sent = [c for c in api.calls(CLIENT, "sendMessage") if c.ok]
    span = max(c.at for c in sent) - min(c.at for c in sent) if len(sent) > 1 else 0
    return {
        "escalations": len(lateness),
        "late": lateness,
        "reminders_sent": len(sent),
        "rate": (len(sent) - 1) / span if span else float("nan"),
        "first_s": min(c.at for c in sent) - clock.started if sent else float("nan"),
        "reminders_duplicated": len(sent) - len({c.chat_id for c in sent}),
    }


def child(code_root: str, reminders: int, escalations: int) -> None:
    sys.path.insert(0, code_root)
    result = asyncio.run(scenario(reminders, escalations))
    import bot  # the tree that ran, for the record

    result["code"] = str(Path(bot.__file__).resolve().parent.parent)
    print(json.dumps(result))


def run_child(code_root: Path, args: argparse.Namespace) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--code-root",
            str(code_root),
            "--reminders",
            str(args.reminders),
            "--escalations",
            str(args.escalations),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=code_root,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def extract(revision: str, folder: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def report(name: str, result: dict) -> None:
    late = result["late"]
    print(
        f"{name:34}{result['escalations']:>5}  {pct(late, 0.5):>6.2f} {pct(late, 0.99):>6.2f} "
        f"{max(late, default=float('nan')):>6.2f}  {result['scan_s']:>7.3f}  "
        f"{result['first_s']:>6.1f} {result['reminders_sent']:>6} {result['rate']:>6.1f} "
        f"{result['reminders_duplicated']:>4}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--escalations", type=int, default=20)
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the baseline")
    parser.add_argument("--code-root", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.code_root:
        child(args.code_root, args.reminders, args.escalations)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        baseline = run_child(extract(args.baseline, Path(folder)), args)
    current = run_child(ROOT, args)
    print(f"{args.reminders} reminders due at once, 25 msg/s; claim escalations to one chat")
    head = f"{'n':>5}  {'late s: p50    p99    max':>20}  {'scan s':>7}  {'first':>6}"
    head += f" {'sent':>6} {'msg/s':>6} {'dup':>4}"
    print(f"{'':34}{head}")
    assert baseline["code"] != current["code"], "the baseline must run its own tree"
    report(f"baseline ({args.baseline}: one loop)", baseline)
    report("this tree (urgent loop, lanes)", current)
    print("target: escalations < 5 s late. scan s: the reminder scan once all are queued;")
    print("first: s to the first reminder sent (queueing 10,000 comes first); sent, msg/s:")
    print("reminders delivered during the run, and their pace from the first to the last one")
    return 0 if max(current["late"], default=99) < 5 and not current["reminders_duplicated"] else 1


if __name__ == "__main__":
    sys.exit(main())
