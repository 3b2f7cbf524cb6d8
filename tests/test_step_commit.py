"""A step that writes only its log rows and the conversation is one round trip on SQLite
(bot.dialog_store), and keeps the versioned update's guarantee."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise

from bot.dialogs import DialogService
from bot.models import Conversation, MessageLog
from scenarios.types import Input


async def begin(dialogs: DialogService, chat: str) -> None:
    await dialogs.handle("test", chat, Input.command("start"))
    await dialogs.handle("test", chat, Input.button("consent:yes"))


def count_round_trips(calls: list[str]) -> Any:
    """Record every function aiosqlite runs in its thread (each is one round trip)."""
    connection = Tortoise.get_connection("default")._connection
    execute = connection._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await execute(fn, *args, **kwargs)

    connection._execute = counted
    return lambda: setattr(connection, "_execute", execute)


async def test_a_plain_step_is_one_round_trip(db, dialogs, clock):
    await begin(dialogs, "c1")
    calls: list[str] = []
    restore = count_round_trips(calls)
    try:
        replies = await dialogs.handle("test", "c1", Input.button("svc:brows"))
    finally:
        restore()
    assert replies
    assert len(calls) == 1  # the whole transaction (the counters: the loop-thread reader)
    rows = await MessageLog.filter(chat_id="c1").order_by("id")
    assert [(r.direction, r.at) for r in rows[-2:]] == [("in", clock.now()), ("out", clock.now())]
    conv = await Conversation.get(chat_id="c1")
    assert conv.version == 3 and conv.state["step"] == "addon"
    assert {(r.kind, r.client_id, r.lead_id) for r in rows[-2:]} == {
        ("button", conv.client_id, conv.lead_id),
        ("text", conv.client_id, conv.lead_id),
    }


async def test_a_plain_step_on_a_stale_copy_runs_again_on_fresh_state(db, config, clock):
    here, there = DialogService(config, clock), DialogService(config, clock)
    await begin(here, "c1")  # `here` caches the conversation at version 2
    await there.handle("test", "c1", Input.button("svc:brows"))  # version 3, elsewhere
    before = await MessageLog.filter(chat_id="c1").count()
    replies = await here.handle("test", "c1", Input.button("addon:none"))
    assert replies
    conv = await Conversation.get(chat_id="c1")
    assert conv.version == 4 and conv.state["step"] == "time"
    assert await MessageLog.filter(chat_id="c1").count() == before + 1 + len(replies)
