"""What aiogram's dispatch costs per update, its own Dispatcher against the client bot's lean
one (handlers/telegram_dispatch.py), in one run (issue 16 item 6).

Both dispatch the client bot's router (TelegramClientBot: the press's filter, the stale
press, messages, payments) to a dialogue that does nothing but give the loop back
`--resumes` times, as a step does on each database round trip: every resumption passes
through every coroutine level between feed_update and the handler. Updates are validated
outside the timer, a fresh one per call (aiogram caches per update). The two ways
alternate in rounds; the figure is the median round's CPU time per update.

    python bench/dispatch_bench.py [--rounds 9] [--updates 5000] [--resumes 6]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiogram import Bot, Dispatcher  # noqa: E402
from aiogram.types import Update  # noqa: E402

from bot.clock import FakeClock  # noqa: E402
from bot.i18n import Texts  # noqa: E402
from handlers.telegram import TelegramClientBot  # noqa: E402
from handlers.telegram_dispatch import lean  # noqa: E402

TOKEN = "123456:dispatch-bench"
USER = {"id": 10_001, "is_bot": False, "first_name": "Анна"}
CHAT = {"id": 10_001, "type": "private"}
MESSAGE = {"message_id": 3, "date": 0, "chat": CHAT, "from": USER, "text": "Здравствуйте"}
PRESS = {
    "id": "q",
    "from": USER,
    "chat_instance": "1",
    "message": {**MESSAGE, "from": {"id": 123456, "is_bot": True, "first_name": "Priyom"}},
    "data": "a|slot:anna:29420000",
}


class Dialogs:
    """The dialogue service's face the router sees; a step gives the loop back N times."""

    def __init__(self, resumes: int) -> None:
        self.texts = Texts("ru")
        self.clock = FakeClock(dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
        self.resumes = resumes

    async def handle(self, *args: Any, **kwargs: Any) -> None:
        for _ in range(self.resumes):
            await asyncio.sleep(0)


def dispatcher(dialogs: Dialogs, make_lean: bool) -> Dispatcher:
    built = Dispatcher(disable_fsm=True)
    built.include_router(TelegramClientBot(dialogs).router)  # type: ignore[arg-type]
    return lean(built) if make_lean else built


async def cpu_per_update(dp: Dispatcher, bot: Bot, make: Callable[[], Update], n: int) -> float:
    updates = [make() for _ in range(n)]
    began = time.process_time()
    for update in updates:
        await dp.feed_update(bot, update)
    return (time.process_time() - began) / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--resumes", type=int, default=6)
    args = parser.parse_args()

    bot = Bot(TOKEN)
    ids = itertools.count(1)
    kinds = {"press": {"callback_query": PRESS}, "message": {"message": MESSAGE}}

    def maker(payload: dict[str, Any]) -> Callable[[], Update]:
        return lambda: Update.model_validate(
            {"update_id": next(ids), **payload}, context={"bot": bot}
        )

    dialogs = Dialogs(args.resumes)
    ways = {"aiogram": dispatcher(dialogs, False), "lean": dispatcher(dialogs, True)}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for way, dp in ways.items():
            for kind, payload in kinds.items():
                cpu = await cpu_per_update(dp, bot, maker(payload), args.updates)
                times.setdefault((way, kind), []).append(cpu)
    await bot.session.close()

    print(f"resumes per step: {args.resumes}")
    print(f"{'update':<9}{'aiogram µs':>12}{'lean µs':>10}{'saved µs':>10}")
    for kind in kinds:
        old = statistics.median(times[("aiogram", kind)])
        new = statistics.median(times[("lean", kind)])
        print(f"{kind:<9}{old:>12.1f}{new:>10.1f}{old - new:>10.1f}")


if __name__ == "__main__":
    asyncio.run(main())
