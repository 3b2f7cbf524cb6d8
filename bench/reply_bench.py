"""What a reply costs on its way out of the client bot, aiogram's shortcuts against the
lighter calls of handlers/telegram_send.py, in one run (issue 16 item 6).

Both go through the same Bot and the flow bench's stub session, which answers as
Telegram would and reads the answer as the method declares it (a whole `Message` for
aiogram's SendMessage/EditMessageText, the id alone for SendText/EditText), as aiogram's
real session does. Per reply: the keyboard (a slot page: 8 slots, «Ещё», «Назад»), the
method, the call and its answer. The two ways alternate in rounds; the figure is the
median round's CPU time per call.

    python bench/reply_bench.py [--rounds 15] [--calls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from aiogram import Bot  # noqa: E402
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message  # noqa: E402
from flow_bench import BOT_USER, TOKEN, StubSession  # noqa: E402

from handlers.telegram import answered, inline_button, inline_markup  # noqa: E402
from handlers.telegram_send import edit_text, send_text  # noqa: E402
from scenarios.types import Button, Reply  # noqa: E402

CHAT = 10_001
SLOTS = tuple(Button(f"{10 + i}:00", f"slot:anna:{29420000 + 60 * i}") for i in range(8))
PAGE = Reply(
    "Свободное время в пятницу:",
    (SLOTS[:4], SLOTS[4:], (Button("Ещё", "more"),), (Button("◂ Назад", "back"),)),
    edit=True,
)

Call = Callable[[], Awaitable[object]]


def shortcuts(bot: Bot, shown: Message, query: CallbackQuery) -> dict[str, Call]:
    """How main sent: the keyboard validated per reply, aiogram's shortcuts, full answers."""

    def keyboard() -> InlineKeyboardMarkup:
        rows = [[inline_button(b) for b in row] for row in PAGE.buttons]
        return InlineKeyboardMarkup(inline_keyboard=rows)

    return {
        "send": lambda: bot.send_message(CHAT, PAGE.text, reply_markup=keyboard()),
        "edit": lambda: shown.edit_text(PAGE.text, reply_markup=keyboard()),
        "answer": lambda: query.answer(),
    }


def lighter(bot: Bot, shown: Message, query: CallbackQuery) -> dict[str, Call]:
    """handlers/telegram_send.py: a keyboard per set of buttons, the id alone read back."""
    return {
        "send": lambda: send_text(bot, CHAT, PAGE.text, inline_markup(PAGE)),
        "edit": lambda: edit_text(bot, shown, PAGE.text, inline_markup(PAGE)),
        "answer": lambda: bot(answered(query)),
    }


async def cpu_per_call(call: Call, calls: int) -> float:
    began = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - began) / calls * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    bot = Bot(TOKEN, session=StubSession())
    shown = await bot.send_message(CHAT, "Выберите день")
    query = CallbackQuery.model_validate(
        {
            "id": "q",
            "from": {"id": CHAT, "is_bot": False, "first_name": "Анна"},
            "chat_instance": str(CHAT),
            "message": {**shown.model_dump(by_alias=True), "from": BOT_USER},
            "data": "a|more",
        },
        context={"bot": bot},
    )
    ways = {"aiogram": shortcuts(bot, shown, query), "lighter": lighter(bot, shown, query)}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for way, calls in ways.items():
            for name, call in calls.items():
                times.setdefault((way, name), []).append(await cpu_per_call(call, args.calls))

    print(f"{'call':<8}{'aiogram µs':>12}{'lighter µs':>12}{'saved µs':>10}")
    for name in ("send", "edit", "answer"):
        old = statistics.median(times[("aiogram", name)])
        new = statistics.median(times[("lighter", name)])
        print(f"{name:<8}{old:>12.1f}{new:>12.1f}{old - new:>10.1f}")


if __name__ == "__main__":
    asyncio.run(main())
