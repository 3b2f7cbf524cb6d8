"""Both bots and the embedded worker on one fake Bot API, shared by the staff-bot tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from admin_bot.context import StaffContext
from bot.app import build_dispatcher, build_staff_dispatcher
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.dialogs import DialogService
from bot.models import StaffMember, StaffRole
from handlers.channels import Channels, ChannelSender
from handlers.telegram_outbox import TelegramSender
from tests.fakes.bot_api import FakeBotApi, FakeUser
from workers import embedded
from workers.timed import TimedWork

CLIENT, STAFF = "111111:client-bot", "222222:staff-bot"
OWNER = FakeUser(9001, "Владелец")
MASHA, PETYA = FakeUser(7001, "Маша"), FakeUser(7002, "Петя")
ANNA = FakeUser(7101, "Анна")


async def add_staff(user: FakeUser, role: StaffRole, clock: FakeClock, **fields) -> StaffMember:
    return await StaffMember.create(
        telegram_id=user.id, role=role, name=user.first_name, created_at=clock.now(), **fields
    )


async def add_team(clock: FakeClock) -> None:
    """Two managers and Анна, the master `anna` with her own account."""
    await add_staff(MASHA, StaffRole.MANAGER, clock)
    await add_staff(PETYA, StaffRole.MANAGER, clock)
    await add_staff(ANNA, StaffRole.MASTER, clock, master_id="anna")


@contextlib.asynccontextmanager
async def running_bots(
    config: BusinessConfig,
    clock: FakeClock,
    staff_as_tasks: bool = True,
    channels: Channels | None = None,
) -> AsyncIterator[FakeBotApi]:
    """Client bot, staff bot and the embedded worker polling one fake Bot API.

    `staff_as_tasks=False` makes the staff bot handle its updates one after another, so a
    later answer proves every earlier update was fully handled.
    """
    async with FakeBotApi() as api:
        client_bot = api.make_bot(CLIENT, parse_mode=None)
        staff_bot = api.make_bot(STAFF, parse_mode=None)
        dialogs = DialogService(config, clock, owner_ids=frozenset({OWNER.id}))
        staff = StaffContext.create(config, clock, [OWNER.id], client_bot)
        polling = [
            (build_dispatcher(dialogs), client_bot, True),
            (build_staff_dispatcher(staff), staff_bot, staff_as_tasks),
        ]
        tasks = [
            asyncio.create_task(dp.start_polling(b, handle_signals=False, handle_as_tasks=t))
            for dp, b, t in polling
        ]
        telegram = TelegramSender({"client": client_bot, "staff": staff_bot})
        channels = channels or Channels()
        channels.pass_files_from(telegram)  # as in bot/app.py
        sender = ChannelSender(telegram, channels.senders())
        tasks.append(
            asyncio.create_task(
                embedded.run_forever(
                    TimedWork(config, dialogs.texts, clock, dialogs.owner_ids),
                    sender,
                    interval=0.02,
                )
            )
        )
        try:
            yield api
        finally:
            for dp, _, _ in polling:
                with contextlib.suppress(RuntimeError):
                    await dp.stop_polling()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for _, b, _ in polling:
                await b.session.close()


@pytest.fixture
async def bots(db, config, clock) -> AsyncIterator[FakeBotApi]:
    """The team (two managers, a master) and both bots running."""
    await add_team(clock)
    async with running_bots(config, clock) as api:
        yield api
