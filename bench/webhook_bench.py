"""What the webhook path adds to a client's first message, and what a /metrics scrape costs.

    .venv/bin/python bench/webhook_bench.py [--clients 200] [--outbox 10000]

Each client sends /start: through the webhook (the fake Bot API POSTs it to the bot's path on
the product's server with the secret; the reply goes back over HTTP), against the same update
fed straight into the Dispatcher (baseline, same run). Then /metrics is scraped with
`--outbox` pending rows (the backlog gauges are one SQL aggregate at scrape time).
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

import aiohttp
from aiogram.types import Update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_dispatcher
from bot.clock import SystemClock
from bot.config import load_config
from bot.db import close_db, init_db
from bot.delivery.channel import ChannelSet
from bot.dialogs import DialogService
from bot.models import Outbox
from bot.settings import ROOT, load_settings
from handlers.health import Ops
from handlers.registry import serve
from handlers.telegram_webhook import telegram_webhooks
from tests.conftest import _free_port
from tests.fakes.bot_api import FakeBotApi, FakeUser

TOKEN, SECRET = "314159:bench", "bench-secret"
DIRECT_IDS = 1_000_000  # update ids of the direct feed: each update is applied once per id


def start_update(user: FakeUser, update_id: int) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "from": user.to_dict(),
            "chat": user.chat(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def timed_gets(url: str, times: int = 20) -> list[float]:
    seconds = []
    async with aiohttp.ClientSession() as http:
        for _ in range(times):
            started = time.perf_counter()
            async with http.get(url) as response:
                await response.read()
            seconds.append(time.perf_counter() - started)
    return seconds


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(len(ms) * 0.99))]
    return f"{name:<34} p50 {statistics.median(ms):6.1f} ms   p99 {p99:6.1f} ms   n={len(ms)}"


async def main(clients: int, outbox: int) -> None:
    config = load_config(ROOT / "examples" / "salon.toml")
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite://{tmp}/bench.sqlite3"
        await init_db(url)
        async with FakeBotApi() as api:
            port = _free_port()
            settings = load_settings(
                database_url=url,
                bot_token=TOKEN,
                telegram_mode="webhook",
                public_base_url=f"http://127.0.0.1:{port}",
                telegram_webhook_secret=SECRET,
                webhook_host="127.0.0.1",
                webhook_port=port,
            )
            dispatcher = build_dispatcher(DialogService(config, clock))
            bot = api.make_bot(TOKEN, parse_mode=None)
            webhooks = telegram_webhooks(settings, {"client": (dispatcher, bot)})
            runner = await serve(
                settings, ChannelSet({}), Ops(settings, clock).register, webhooks.register
            )
            await webhooks.set_all()
            direct, hooked = [], []
            for i in range(clients):
                user = FakeUser(10_000 + i, "Клиент")
                started = time.perf_counter()
                update = Update.model_validate(start_update(user, DIRECT_IDS + i))  # not the fake's
                await dispatcher.feed_update(bot, update)
                direct.append(time.perf_counter() - started)
                user = FakeUser(50_000 + i, "Клиент")
                started = time.perf_counter()
                api.push_update(TOKEN, {"message": start_update(user, 0)["message"]})
                await api.wait_for_message(TOKEN, user.id)
                hooked.append(time.perf_counter() - started)
            print(summary("baseline: Dispatcher.feed_update", direct))
            print(summary("webhook POST → reply at the fake", hooked))
            now = clock.now()
            await Outbox.bulk_create(
                [
                    Outbox(
                        bot="client",
                        chat_id=str(i),
                        kind="notice",
                        payload={"text": "x"},
                        dedup_key=f"bench:{i}",
                        due_at=now - dt.timedelta(seconds=i % 600),
                        created_at=now,
                    )
                    for i in range(outbox)
                ],
                batch_size=1000,
            )
            scrapes = await timed_gets(f"http://127.0.0.1:{port}/metrics")
            health = await timed_gets(f"http://127.0.0.1:{port}/healthz")
            print(summary(f"/metrics, {outbox} pending rows", scrapes))
            print(summary("baseline: /healthz (no I/O)", health))
            await runner.cleanup()
        await close_db()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--outbox", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.outbox))
