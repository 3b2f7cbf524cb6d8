"""What the client bot's session costs per reply on top of the HTTP round trip, main's
way (aiogram's middleware chain built per call, the answer validated as
`Response[SentMessage]`) against handlers/telegram_session.py's (the chain kept, the plain
answer read by `sent_answer`), in one run (issue 16 item 6).

Both sessions are the product's TelegramSession (LateAnswers, and the sending Pace as
`pace_bots` installs it, on a limiter that never waits); their `make_request` stands in
for aiohttp's: it reads Telegram's JSON answer to a sendMessage with the session's own
`check_response`, as AiohttpSession does after the HTTP call. The two ways alternate in
rounds; the figure is the median round's CPU time per call.

    python bench/session_bench.py [--rounds 15] [--calls 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.session.base import BaseSession  # noqa: E402

from bot.delivery.ratelimit import NO_LIMIT  # noqa: E402
from handlers.telegram_pace import Pace  # noqa: E402
from handlers.telegram_send import SEND, send_text  # noqa: E402
from handlers.telegram_session import TelegramSession, _response_model  # noqa: E402

TOKEN = "123456:session-bench"
ANSWER = json.dumps(
    {
        "ok": True,
        "result": {
            "message_id": 77,
            "date": 1764000000,
            "chat": {"id": 42, "type": "private", "first_name": "Анна"},
            "from": {"id": 123456, "is_bot": True, "first_name": "Priyom"},
            "text": "Свободное время в пятницу:",
        },
    }
)


class Answered:
    """aiohttp's make_request less the HTTP: the answer read by the session's own reader."""

    async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:
        return self.check_response(bot, method, 200, ANSWER).result  # type: ignore[attr-defined]


class Kept(Answered, TelegramSession):
    """This branch's session."""


class Main(Answered, TelegramSession):
    """Main's: aiogram's chaining per call and its validating read (the model pinned)."""

    async def __call__(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:
        return await BaseSession.__call__(self, bot, method, timeout)

    def check_response(self, bot: Bot, method: Any, status_code: int, content: str) -> Any:
        _response_model(method.__returning__)
        return AiohttpSession.check_response(self, bot, method, status_code, content)


async def cpu_per_call(bot: Bot, calls: int) -> float:
    began = time.process_time()
    for _ in range(calls):
        await send_text(bot, 42, "Свободное время в пятницу:")
    return (time.process_time() - began) / calls * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()

    bots = {}
    for name, session_type in (("main", Main), ("kept", Kept)):
        session = session_type()
        session.middleware(Pace(NO_LIMIT, "client"))
        bots[name] = Bot(TOKEN, session=session)
        assert await bots[name](SEND(chat_id=42, text="x", reply_markup=None)) is not None
    times: dict[str, list[float]] = {name: [] for name in bots}
    for _ in range(args.rounds):
        for name, bot in bots.items():
            times[name].append(await cpu_per_call(bot, args.calls))
    old, new = (statistics.median(times[name]) for name in ("main", "kept"))
    print(f"{'call':<8}{'main µs':>10}{'kept µs':>10}{'saved µs':>10}")
    print(f"{'send':<8}{old:>10.1f}{new:>10.1f}{old - new:>10.1f}")
    for bot in bots.values():
        await bot.session.close()


if __name__ == "__main__":
    asyncio.run(main())
