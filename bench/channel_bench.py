"""What a webhook channel adds to a dialogue step: WhatsApp and MAX against the bare runner.

N new clients each send one greeting and press «Согласен» (two steps: a text, a button):
  baseline  — DialogService.handle called directly (no HTTP, no rendering);
  whatsapp  — a signed POST to the real webhook, replies rendered and sent to a local fake
              Graph API over HTTP (tests/fakes/graph_api.py);
  max       — the same through the MAX webhook and a local fake MAX Bot API.
Latency is measured per step from the request to the webhook's 200 (replies are sent
before it). One SQLite file per run.

    python bench/channel_bench.py [--clients 200]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import FakeClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.dialogs import DialogService  # noqa: E402
from scenarios.types import Input  # noqa: E402
from tests.test_max import max_rig, pressed, started  # noqa: E402
from tests.whatsapp_helpers import pressed as wa_pressed  # noqa: E402
from tests.whatsapp_helpers import text, whatsapp_rig  # noqa: E402

START = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)  # Monday 10:00 in Samara


async def timed(step: Awaitable[object]) -> float:
    """Milliseconds the step takes (a coroutine does not start before it is awaited)."""
    started_at = time.perf_counter()
    await step
    return (time.perf_counter() - started_at) * 1000


async def baseline(dialogs: DialogService, clients: int) -> list[float]:
    times = []
    for n in range(clients):
        chat = f"base{n}"
        times.append(await timed(dialogs.handle("bench", chat, Input.command("start"))))
        times.append(await timed(dialogs.handle("bench", chat, Input.button("consent:yes"))))
    return times


async def whatsapp(dialogs: DialogService, clients: int) -> list[float]:
    times = []
    async with whatsapp_rig(dialogs) as rig:
        for n in range(clients):
            wa_id = f"7900{n:07d}"
            times.append(await timed(rig.post(text(wa_id, "Здравствуйте"))))
            times.append(await timed(rig.post(wa_pressed(wa_id, "consent:yes"))))
        assert len(rig.graph.sent) >= 4 * clients, "every step was answered"
    return times


async def max_channel(dialogs: DialogService, clients: int) -> list[float]:
    times = []
    async with max_rig(dialogs) as rig:
        for n in range(clients):
            user = str(500000 + n)
            times.append(await timed(rig.post(started(user))))
            times.append(await timed(rig.post(pressed(user, "consent:yes"))))
        assert len(rig.api.sent) >= 4 * clients, "every step was answered"
    return times


def row(name: str, times: list[float], seconds: float) -> str:
    q = statistics.quantiles(times, n=100, method="inclusive")
    return (
        f"{name:<10} {len(times):>6} {statistics.median(times):>9.2f} {q[94]:>9.2f} "
        f"{q[98]:>9.2f} {len(times) / seconds:>9.0f}"
    )


async def main(clients: int) -> None:
    config = load_config(ROOT / "examples" / "salon.toml")
    with tempfile.TemporaryDirectory() as tmp:
        await init_db(f"sqlite://{tmp}/bench.sqlite3")
        dialogs = DialogService(config, FakeClock(START))
        print(f"{'path':<10} {'steps':>6} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'steps/s':>9}")
        for name, run in (("baseline", baseline), ("whatsapp", whatsapp), ("max", max_channel)):
            began = time.perf_counter()
            times = await run(dialogs, clients)
            print(row(name, times, time.perf_counter() - began))
        await close_db()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    asyncio.run(main(parser.parse_args().clients))
