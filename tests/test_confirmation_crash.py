"""A booking's confirmation survives the process dying between the commit and the send.

The client bot runs in its own OS process against the fake Bot API; it is killed with
SIGKILL while its confirmation is on the way (the fake holds that request). After a
restart, the timed outbox delivery — another process — sends the confirmation, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys

from bot.app import build_dispatcher
from bot.delivery.outbox import CLAIM_SECONDS
from bot.models import Appointment, Outbox, OutboxStatus
from tests.conftest import ROOT
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import book_in_telegram, has

TOKEN = "123456:client-bot-token"
OLGA = FakeUser(501, "Ольга")
CONFIRMED = "Заявка принята"


async def spawn(module: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def ready(proc: asyncio.subprocess.Process) -> None:
    assert await asyncio.wait_for(proc.stdout.readline(), 120) == b"ready\n"


async def reach_summary(api: FakeBotApi, dialogs) -> None:
    """The real client bot in this process, from /start to the summary."""
    bot = api.make_bot(TOKEN, parse_mode=None)
    dispatcher = build_dispatcher(dialogs)
    task = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    try:
        await book_in_telegram(api, TOKEN, OLGA, confirm=False)
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        await task
        await bot.session.close()


def confirmations(api: FakeBotApi) -> list[dict]:
    return [m for m in api.sent(TOKEN, OLGA.id) if CONFIRMED in (m.get("text") or "")]


async def test_killed_between_commit_and_send_the_client_gets_one_confirmation(db, dialogs, clock):
    url = f"sqlite://{db}"
    async with FakeBotApi() as api:
        # Both processes start now (aiogram's imports take seconds); killed in any case.
        bot_process = await spawn(
            "tests.step_worker", url, api.base_url, TOKEN, clock.now().isoformat()
        )
        restarted = await spawn(
            "tests.delivery_worker", url, api.base_url, TOKEN, str(CLAIM_SECONDS)
        )
        procs = (bot_process, restarted)
        try:
            await asyncio.gather(ready(bot_process), ready(restarted))
            await reach_summary(api, dialogs)
            press = api.press_button(TOKEN, OLGA, text="✅ Подтвердить запись")
            api.fail_next("sendMessage", delay_seconds=60)  # the next send hangs: kill then
            bot_process.stdin.write((json.dumps(press) + "\n").encode())
            await api.wait_for_call(
                TOKEN, "sendMessage", lambda c: CONFIRMED in c.params["text"], timeout=30
            )
            bot_process.send_signal(signal.SIGKILL)
            await bot_process.wait()
            assert bot_process.returncode == -signal.SIGKILL
            assert await Appointment.all().count() == 1  # the booking was committed
            assert confirmations(api) == []  # and the client was not told

            clock.advance(seconds=CLAIM_SECONDS + 1)  # the dead process's claim expired
            restarted.stdin.write(f"{clock.now().isoformat()}\n".encode())
            await asyncio.wait_for(restarted.communicate(), 30)
            assert restarted.returncode == 0
            assert len(confirmations(api)) == 1
            row = await Outbox.get(kind="reply")
            assert row.status == OutboxStatus.SENT and CONFIRMED in row.payload["text"]
            assert has("вт, 24 ноября, 10:00")(confirmations(api)[0])
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


async def test_a_confirmation_and_a_cancellation_go_through_the_outbox_at_once(dialogs):
    async with FakeBotApi() as api:
        bot = api.make_bot(TOKEN, parse_mode=None)
        dispatcher = build_dispatcher(dialogs)
        task = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
        try:
            await book_in_telegram(api, TOKEN, OLGA)  # waits for the confirmation
            api.press_button(TOKEN, OLGA, text="Мои записи")
            mine = await api.wait_for_message(TOKEN, OLGA.id, has("Ваши записи"))
            api.press_button(TOKEN, OLGA, text=_button(mine, "Отменить запись"))
            await api.wait_for_message(TOKEN, OLGA.id, has("Запись отменена"))
        finally:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            await task
            await bot.session.close()
    rows = await Outbox.filter(kind="reply").order_by("id")
    assert [(CONFIRMED in r.payload["text"], r.status) for r in rows] == [
        (True, OutboxStatus.SENT),
        (False, OutboxStatus.SENT),
    ]
    assert rows[1].payload["text"].startswith("Запись отменена")
    assert len(confirmations(api)) == 1


def _button(message: dict, prefix: str) -> str:
    rows = message["reply_markup"]["inline_keyboard"]
    return next(b["text"] for row in rows for b in row if b["text"].startswith(prefix))
