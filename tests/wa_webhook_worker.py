"""A separate process serving the real WhatsApp webhook on one shared database
(used by test_sqlite_processes): several of them behind one "load balancer".

Usage: python -m tests.wa_webhook_worker <database url> <graph base url>
Prints the webhook URL, then serves until its stdin is closed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from zoneinfo import ZoneInfo

from bot.clock import FakeClock
from bot.config import load_config
from bot.db import close_db, init_db
from bot.dialogs import DialogService
from handlers.whatsapp import PATH, WhatsApp
from handlers.whatsapp_api import GraphClient
from tests.conftest import ROOT
from tests.fakes.graph_api import PHONE_ID, TOKEN
from tests.fakes.local_server import serving
from tests.whatsapp_helpers import SECRET, VERIFY

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Samara"))


async def main(url: str, graph_url: str) -> None:
    await init_db(url)
    dialogs = DialogService(load_config(ROOT / "examples" / "salon.toml"), FakeClock(NOW))
    adapter = WhatsApp(
        GraphClient(graph_url, PHONE_ID, TOKEN),
        dialogs.texts,
        dialogs.clock,
        app_secret=SECRET,
        verify_token=VERIFY,
        reminder_template="priyom_reminder",
        dialogs=dialogs,
    )
    loop = asyncio.get_running_loop()
    try:
        async with serving(lambda app: adapter.mount(app.router)) as base:
            print(base + PATH, flush=True)
            await loop.run_in_executor(None, sys.stdin.read)  # until the test closes stdin
    finally:
        await adapter.graph.close()
        await close_db()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
