"""A separate process that delivers the outbox (used by test_delivery's SIGKILL test).

Usage: python -m tests.delivery_worker <database url> <Bot API url> <token> <claim seconds>
Prints "ready" once started, then waits for a line on stdin with the moment (ISO) its
stopped clock shows, runs the embedded `deliver_due` loop until nothing is left to send,
and prints how many messages it sent. (Starting takes seconds — aiogram's imports — so
the test starts its processes early and says "go" when it wants.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from bot.clock import FakeClock
from bot.db import close_db, init_db
from bot.delivery.outbox import deliver_due
from handlers.telegram import make_bot
from handlers.telegram_outbox import TelegramSender


async def main(url: str, api_url: str, token: str, claim_seconds: float) -> None:
    await init_db(url)
    bot = make_bot(token, api_url)
    sender = TelegramSender({"client": bot})
    print("ready", flush=True)
    now = await asyncio.to_thread(sys.stdin.readline)
    clock = FakeClock(dt.datetime.fromisoformat(now.strip()))
    total = 0
    try:
        while sent := await deliver_due(sender, clock, claim_seconds=claim_seconds):
            total += sent
    finally:
        await bot.session.close()
        await close_db()
    print(total, flush=True)


if __name__ == "__main__":
    url, api_url, token, claim_seconds = sys.argv[1:5]
    asyncio.run(main(url, api_url, token, float(claim_seconds)))
