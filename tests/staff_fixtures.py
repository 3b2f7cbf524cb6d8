"""Both bots and the embedded worker on one fake Bot API, shared by the staff-bot tests."""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiogram import Dispatcher

from admin_bot.context import StaffContext
from bot.app import build_dispatcher, build_staff_dispatcher
from bot.clock import FakeClock
from bot.config import BusinessConfig, parse_config
from bot.delivery.channel import Channel, ChannelSet
from bot.dialogs import DialogService
from bot.models import (
    Appointment,
    Conversation,
    Lead,
    LeadEvent,
    MasterCell,
    MessageLog,
    Outbox,
    StaffAwaiting,
    StaffMember,
    StaffRole,
)
from bot.settings import load_settings
from handlers.registry import ChannelDeps, build_channels
from handlers.telegram import Act
from tests.conftest import ROOT
from tests.fakes.bot_api import Call, FakeBotApi, FakeUser
from tests.flows import book_in_telegram, has
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
async def polling(api: FakeBotApi, token: str, dispatcher: Dispatcher) -> AsyncIterator[None]:
    """One staff dispatcher polling the fake Bot API, updates handled in order, then stopped."""
    bot = api.make_bot(token, parse_mode=None)
    task = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, handle_as_tasks=False)
    )
    try:
        yield
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        await task
        await bot.session.close()


@contextlib.asynccontextmanager
async def running_bots(
    config: BusinessConfig,
    clock: FakeClock,
    staff_as_tasks: bool = True,
    channels: dict[str, Channel] | None = None,
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
        settings = load_settings(bot_token=CLIENT, staff_bot_token=STAFF)
        deps = ChannelDeps(dialogs.texts, clock, bots={"client": client_bot, "staff": staff_bot})
        sender = ChannelSet({**build_channels(settings, deps), **(channels or {})})  # as bot/app.py
        staff.extra["outbox"] = sender
        work = TimedWork(config, dialogs.texts, clock, dialogs.owner_ids)
        # The first pass (on a Monday morning: the weekly report) before the test acts, so a
        # test's before/after snapshot never races it.
        await embedded.tick(work, sender)
        tasks.append(asyncio.create_task(embedded.run_forever(work, sender, interval=0.02)))
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


# --- the desk: both bots, the team, and the steps staff tests repeat ------------------

KSENIA, LENA = FakeUser(501, "Ксения"), FakeUser(502, "Лена")  # clients
SECRETS = ("Ксения", "9271234567")  # the client's name and phone: never shown to outsiders
OLYA = FakeUser(7102, "Оля")  # the master `olga`: not Анна, whose visit Ксения booked
PAVEL = FakeUser(7201, "Павел")  # a manager the owner removed
STRANGER = FakeUser(666, "Незнакомец")
GROUP = -100500


class Desk:
    """Both bots running; the steps the staff and the client repeat, as one-liners."""

    def __init__(self, api: FakeBotApi, config: BusinessConfig, clock: FakeClock) -> None:
        self.api, self.config, self.clock = api, config, clock

    # the client's side
    async def book(self, client: FakeUser = KSENIA) -> Appointment:
        await book_in_telegram(self.api, CLIENT, client)
        lead = await Lead.filter(client__channel_user_id=str(client.id)).order_by("-id").first()
        return await Appointment.filter(lead_id=lead.id).order_by("-id").first()

    def client_says(self, text: str, client: FakeUser = KSENIA) -> None:
        if text.startswith("/"):
            self.api.send_command(CLIENT, client, text)
        else:
            self.api.send_text(CLIENT, client, text)

    async def client_gets(self, text: str | None = None, client: FakeUser = KSENIA) -> dict:
        return await self.api.wait_for_message(CLIENT, client.id, _match(text))

    def client_mark(self, client: FakeUser = KSENIA) -> int:
        """The id of the client's latest bot message: `client_gets_after` waits past it."""
        last = self.api.last_message(CLIENT, client.id)
        return last["message_id"] if last else 0

    async def client_gets_after(self, mark: int, client: FakeUser = KSENIA) -> dict:
        return await self.api.wait_for_message(CLIENT, client.id, lambda m: m["message_id"] > mark)

    # the staff's side
    def say(self, user: FakeUser, text: str, reply_to: dict | None = None) -> None:
        if reply_to is not None:
            self.api.push_message(STAFF, user, text=text, reply_to_message=reply_to)
        elif text.startswith("/"):
            head, _, args = text.partition(" ")
            self.api.send_command(STAFF, user, head, args or None)
        else:
            self.api.send_text(STAFF, user, text)

    async def sees(self, user: FakeUser | int, text: str | None = None) -> dict:
        chat = user if isinstance(user, int) else user.id
        return await self.api.wait_for_message(STAFF, chat, _match(text))

    async def card(self, user: FakeUser | int, lead_id: int = 1) -> dict:
        return await self.sees(user, f"Заявка #{lead_id}")

    def tap(self, user: FakeUser, text: str, message: dict | None = None) -> dict:
        """Press a button by its label (on `message`, else the latest keyboard)."""
        message_id = message["message_id"] if message else None
        return self.api.press_button(STAFF, user, text=text, message_id=message_id)

    def press(self, user: FakeUser, action: str) -> dict:
        """Press a button with this action, whether or not the person was ever shown it."""
        return self.api.press_button(STAFF, user, Act(v=action).pack(), strict=False)

    async def answer(self, update: dict) -> Call:
        query_id = update["callback_query"]["id"]
        return await self.api.wait_for_call(
            STAFF, "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id
        )

    async def settle(self) -> None:
        """The staff bot handles updates in order: once the owner's /help is answered, every
        earlier update is fully handled."""
        self.say(OWNER, "/help")
        await self.sees(OWNER, "Вы владелец")

    def texts_to(self, user: FakeUser) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.api.sent(STAFF, user.id)]


def _match(text: str | None) -> Callable[[dict], bool] | None:
    return has(text) if text is not None else None


def config_with(**staff) -> BusinessConfig:
    """The example salon with other [staff] settings."""
    data = tomllib.loads((ROOT / "examples" / "salon.toml").read_text(encoding="utf-8"))
    data["staff"] = {**data.get("staff", {}), **staff}
    return parse_config(data)


async def db_rows() -> dict[str, list]:
    """Everything a lead action could change (outbox rows by what was queued, not status)."""
    rows: dict[str, list] = {}
    for model in (Lead, Appointment, LeadEvent, MasterCell, StaffAwaiting):
        rows[model.__name__] = await model.all().values()
    rows["Conversation"] = await Conversation.all().order_by("id").values("id", "relay_staff_id")
    rows["Outbox"] = await Outbox.all().order_by("id").values("id", "bot", "chat_id", "kind")
    rows["MessageLog"] = await MessageLog.all().order_by("id").values("id", "author", "text")
    return rows


@pytest.fixture
async def open_desk(db, config, clock) -> AsyncIterator[Callable[..., Awaitable[Desk]]]:
    """`await open_desk(config)` starts the bots (with that config) for this test."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(business: BusinessConfig | None = None) -> Desk:
            business = business or config
            bots = running_bots(business, clock, staff_as_tasks=False)
            return Desk(await stack.enter_async_context(bots), business, clock)

        yield start


@pytest.fixture
async def desk(open_desk, clock) -> Desk:
    """The team, plus Оля (master `olga`) and Павел (a removed manager)."""
    await add_team(clock)
    await add_staff(OLYA, StaffRole.MASTER, clock, master_id="olga")
    await add_staff(PAVEL, StaffRole.MANAGER, clock, active=False, removed_at=clock.now())
    return await open_desk()


async def action_rows() -> dict[str, list]:
    """What an action could change; the clock's own work (cards, SLA, reminders) aside."""
    rows = await db_rows()
    timed = ("reminder", "nudge")
    rows["Outbox"] = [r for r in rows["Outbox"] if r["bot"] == "client" and r["kind"] not in timed]
    return rows
