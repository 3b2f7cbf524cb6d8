"""The plain step's adapter work made cheaper (issue 16 item 6) without changing what goes
over the wire or what a client's payload can do: callback data packed and read as strings
in `Act`'s format, aiogram's buttons built once per distinct button, and the cache
counters read on SQLite by a second connection in the loop's thread, which must see every
commit of every process as the ORM's read did."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from prometheus_client import REGISTRY
from tortoise import Tortoise

from bot import metrics
from bot.booking import versions
from bot.db import close_db, init_db
from bot.db_sqlite import ImmediateClient
from bot.models import Client, Conversation, MessageLog
from handlers.telegram import Act, inline_markup, pack_action, unpack_action
from scenarios.types import Button, Input, Reply
from tests import test_no_double_booking as races
from tests.fakes.bot_api import FakeUser
from tests.flows import CLIENT_TOKEN, has, polling_client
from tests.test_slot_cache import slot_page, two_processes

ACTIONS = ["svc:manicure", "slot:anna:29420000", "consent:yes", "name:me", "", "cancel:12"]
ACTIONS += ["x" * 62, "день:ё"]  # 64 bytes packed; not ASCII (the scenario refuses it)


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_is_packed_as_act_packs_it(action):
    assert pack_action(action) == Act(v=action).pack()
    assert unpack_action(pack_action(action)) == action


@pytest.mark.parametrize("action", ["a|b", "x" * 63, "я" * 32])
def test_what_act_refuses_to_pack_is_refused(action):
    with pytest.raises(ValueError):
        Act(v=action).pack()
    with pytest.raises(ValueError):
        pack_action(action)


def _act_reads(data: str | None) -> str | None:
    """What aiogram's `Act.filter()` hands the handler (None: the filter refuses)."""
    if not data:
        return None
    try:
        return Act.unpack(data).v
    except (TypeError, ValueError):
        return None


FORGED = ["", "a", "a|", "a|x|y", "b|svc:brows", "A|svc:brows", "|a|svc", "a||", "ab|svc"]
FORGED += ["a|svc:brows ", "a| svc:brows", "a|" + "x" * 100, None]


@pytest.mark.parametrize("data", FORGED)
def test_a_payload_is_read_as_act_reads_it(data):
    assert unpack_action(data) == _act_reads(data)


def test_the_keyboard_is_the_one_aiogram_would_validate():
    buttons = ((Button("Маникюр", "svc:manicure"), Button("Политика", url="https://x.ru/p")),)
    buttons += ((Button("◂ Назад", "back"),),)
    expected = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Маникюр", callback_data=Act(v="svc:manicure").pack()),
                InlineKeyboardButton(text="Политика", url="https://x.ru/p"),
            ],
            [InlineKeyboardButton(text="◂ Назад", callback_data=Act(v="back").pack())],
        ]
    )
    for _ in range(2):  # built, then from the cache
        assert inline_markup(Reply("?", buttons)).model_dump() == expected.model_dump()
    assert inline_markup(Reply("no buttons")) is None


async def test_a_malformed_callback_is_answered_and_changes_nothing(dialogs):
    """Data `Act` would refuse never reaches the dialogue (only answered, as a stale
    button), a split at the first `|` would have read «consent:yes» here; well-formed data
    naming nothing the step offers reaches it and changes nothing either."""
    user = FakeUser(601, "Ксения")
    async with polling_client(dialogs) as api:
        api.send_command(CLIENT_TOKEN, user, "/start")
        await api.wait_for_message(CLIENT_TOKEN, user.id, has("152-ФЗ"))
        inbound = MessageLog.filter(chat_id=str(user.id), direction="in")
        before = await inbound.count()
        refused, foreign = ("a|consent:yes|x", "b|consent:yes"), ("a|svc:nope", "a|slot:anna:1")
        for data in (*refused, *foreign):
            api.press_button(CLIENT_TOKEN, user, data, strict=False)
        answered = lambda: len(api.calls(CLIENT_TOKEN, "answerCallbackQuery")) == 4 or None  # noqa: E731
        assert await api.wait_until(answered)
        reached = lambda: inbound.count()  # noqa: E731
        for _ in range(50):  # the two foreign ones are steps: wait for their commits
            if await reached() == before + len(foreign):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # and for a refused one, were it (wrongly) under way
        assert await reached() == before + len(foreign)
    conv = await Conversation.get(chat_id=str(user.id))
    assert conv.state["step"] == "consent" and not conv.state.get("consented")
    assert not await Client.exists()


async def test_a_commit_by_another_process_is_seen_by_the_next_step(db, config, clock):
    """Another process (its own connection to the file) cancels a visit: the next slot
    page of this one offers the time again, read through the loop-thread reader."""
    here, there = two_processes(config, clock)
    page = await slot_page(here, "here-1")
    await races.drive_to_summary(there, "there-1")
    await there.handle("test", "there-1", Input.button("confirm"))
    assert page[0] not in await slot_page(here, "here-2")
    assert Tortoise.get_connection("default").reader() is not None
    elsewhere = sqlite3.connect(db, isolation_level=None)
    elsewhere.execute("UPDATE appointment SET status = 'cancelled'")  # a trigger bumps it
    elsewhere.close()
    assert (await slot_page(here, "here-3"))[0] == page[0]


async def test_the_reader_reads_what_the_orm_reads(db):
    client = Tortoise.get_connection("default")
    await client.execute_script(
        "INSERT INTO cache_version (key, version) VALUES ('catalog', 3), ('master:anna', 7)"
    )
    rows = await client.execute_query_dict(versions.READ)
    assert await versions.read() == {r["key"]: r["version"] for r in rows}
    assert await versions.read() == {"catalog": 3, "master:anna": 7}


async def test_a_busy_reader_leaves_the_read_to_the_orm(db):
    """Past its short timeout (another process's checkpoint, say) the step does not fail:
    it reads through tortoise's connection, as before."""
    client = Tortoise.get_connection("default")
    await client.execute_script("INSERT INTO cache_version (key, version) VALUES ('catalog', 5)")

    class Busy:
        def execute(self, sql: str) -> None:
            raise sqlite3.OperationalError("database is locked")

    reader, client._reader = client._reader, Busy()
    try:
        assert await versions.read() == {"catalog": 5}
    finally:
        client._reader = reader


@pytest.mark.parametrize(
    "url", ["sqlite://:memory:", "sqlite://{tmp}/j.sqlite3?journal_mode=DELETE"]
)
async def test_no_reader_where_it_could_miss_or_wait(tmp_path, url):
    """In memory a second connection would see another database; outside WAL a reader can
    wait for a writer: both keep the ORM's read."""
    await init_db(url.format(tmp=tmp_path))
    try:
        client = Tortoise.get_connection("default")
        assert isinstance(client, ImmediateClient) and client.reader() is None
        await client.execute_script("INSERT INTO cache_version (key, version) VALUES ('x', 2)")
        assert await versions.read() == {"x": 2}
    finally:
        await close_db()


async def test_closing_the_database_closes_the_reader(tmp_path):
    await init_db(f"sqlite://{tmp_path / 'r.sqlite3'}")
    reader = Tortoise.get_connection("default").reader()
    assert reader is not None
    await close_db()
    with pytest.raises(sqlite3.ProgrammingError):
        reader.execute("SELECT 1")


async def test_each_update_is_counted_and_timed_under_its_channel():
    def seen(name: str, channel: str) -> float:
        return REGISTRY.get_sample_value(name, {"channel": channel}) or 0.0

    before = (
        seen("priyom_updates_handled_total", "wire"),
        seen("priyom_update_seconds_count", "wire"),
    )
    for _ in range(2):
        async with metrics.handling("wire"):
            pass
    with pytest.raises(RuntimeError):
        async with metrics.handling("wire"):
            raise RuntimeError("a failed update is counted too")
    after = (
        seen("priyom_updates_handled_total", "wire"),
        seen("priyom_update_seconds_count", "wire"),
    )
    assert after == (before[0] + 3, before[1] + 3)
    assert seen("priyom_updates_handled_total", "other") == 0.0


def test_no_filter_or_handler_of_the_client_bot_runs_in_a_thread(config, clock):
    """aiogram awaits a coroutine filter or handler, and sends anything else (a magic
    filter like `F.chat.type == "private"` too) to asyncio.to_thread: a worker thread
    round trip per update and per filter."""
    from bot.app import build_dispatcher
    from bot.dialogs import DialogService

    assert_nothing_in_threads(build_dispatcher(DialogService(config, clock)))


def test_no_filter_or_handler_of_the_staff_bot_runs_in_a_thread(config, clock):
    from admin_bot.context import StaffContext
    from bot.app import build_staff_dispatcher

    assert_nothing_in_threads(build_staff_dispatcher(StaffContext.create(config, clock, [1])))


def assert_nothing_in_threads(router) -> None:
    """Every handler, its filters and each router's own filters are coroutines."""
    seen = 0
    for each in _routers(router):
        for observer in each.observers.values():
            for check in observer._handler.filters or ():  # router.message.filter(...)
                assert check.awaitable, (each.name, check.callback)
            for handler in observer.handlers:
                seen += 1
                assert handler.awaitable, (each.name, handler.callback)
                for check in handler.filters or ():
                    assert check.awaitable, (each.name, check.callback)
    assert seen


def _routers(router):
    yield router
    for sub in router.sub_routers:
        yield from _routers(sub)
