"""A separate process running one update through the real client bot (used by
test_confirmation_crash's SIGKILL test).

Usage: python -m tests.step_worker <database url> <Bot API url> <token> <clock ISO>
Prints "ready" once started, then reads one Telegram update (JSON) from stdin, feeds it to
the client bot's Dispatcher and prints "done". (Starting takes seconds — aiogram's
imports — so the test starts it early and sends the update when it wants.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path

from bot.app import build_dispatcher
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import close_db, init_db
from bot.dialogs import DialogService
from handlers.telegram import make_bot

ROOT = Path(__file__).resolve().parent.parent


async def main(url: str, api_url: str, token: str, now: str) -> None:
    config = load_config(ROOT / "examples" / "salon.toml")
    await init_db(url)
    dialogs = DialogService(config, FakeClock(dt.datetime.fromisoformat(now)))
    bot = make_bot(token, api_url)
    dispatcher = build_dispatcher(dialogs)
    print("ready", flush=True)
    update = json.loads(await asyncio.to_thread(sys.stdin.readline))
    try:
        await dispatcher.feed_raw_update(bot, update)
    finally:
        await bot.session.close()
        await close_db()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
