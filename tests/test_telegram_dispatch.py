"""The client bot's lean dispatch (handlers.telegram_dispatch) routes as aiogram's own: the
same handlers, filters and middlewares in the same order, a middleware registered after
updates went through (or removed) taken into account on the next update, a SkipHandler
from a middleware passing the update on, an error reaching the error handlers."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import CallbackQuery, ErrorEvent, Message, Update

from bot.app import build_dispatcher
from bot.clock import FakeClock
from bot.i18n import Texts
from handlers.telegram_dispatch import LeanDispatcher, LeanObserver, LeanRouter, lean

TOKEN = "123456:dispatch"
USER = {"id": 5, "is_bot": False, "first_name": "Анна"}
CHAT = {"id": 5, "type": "private"}


def _updates(bot: Bot) -> list[Update]:
    message = {"message_id": 3, "date": 0, "chat": CHAT, "from": USER, "text": "привет"}
    press = {
        "id": "q",
        "from": USER,
        "chat_instance": "1",
        "message": {**message, "from": {**USER, "id": 1, "is_bot": True}},
        "data": "a|svc:cut",
    }
    raw = [{"message": message}, {"callback_query": press}, {"callback_query": {**press}}]
    raw[2]["callback_query"]["data"] = "boom"
    raw.append({"edited_message": {**message, "text": "правка", "edit_date": 1}})
    return [
        Update.model_validate({"update_id": i, **u}, context={"bot": bot})
        for i, u in enumerate(raw, 1)
    ]


def _tracer(log: list[str], name: str, skip: bool = False):
    async def middleware(handler, event, data):
        log.append(f"{name}>{type(event).__name__}")
        if skip and data["handler"].callback.__name__ == "on_button":
            raise SkipHandler
        result = await handler(event, data)
        log.append(f"{name}<")
        return result

    return middleware


def _dispatcher(log: list[str], make_lean: bool) -> tuple[Dispatcher, Router]:
    router = Router(name="client")

    async def is_act(query: CallbackQuery) -> bool | dict:
        return {"action": query.data[2:]} if query.data.startswith("a|") else False

    async def on_button(query: CallbackQuery, action: str, event_router: Router) -> str:
        log.append(f"button:{action}:{event_router.name}")
        return "answered"

    async def on_other(query: CallbackQuery) -> str:
        log.append(f"other:{query.data}")
        if query.data == "boom":
            raise RuntimeError("boom")
        return "other"

    async def on_message(message: Message, event_from_user, event_update: Update) -> None:
        log.append(f"message:{message.text}:{event_from_user.id}:{event_update.update_id}")

    async def on_error(event: ErrorEvent) -> str:
        log.append(f"error:{event.exception}")
        return "handled"

    router.callback_query.register(on_button, is_act)
    router.callback_query.register(on_other)
    nested = Router(name="nested")  # a level deeper: messages reach it, presses don't

    async def on_edit(message: Message, event_router: Router) -> None:
        log.append(f"edit:{message.text}:{event_router.name}")

    nested.edited_message.register(on_edit)
    router.message.register(on_message)
    router.include_router(nested)
    dispatcher = Dispatcher(disable_fsm=True)
    dispatcher.errors.register(on_error)
    dispatcher.include_router(router)
    return (lean(dispatcher) if make_lean else dispatcher), router


async def _run(make_lean: bool) -> list:
    log: list = []
    bot = Bot(TOKEN)
    dispatcher, router = _dispatcher(log, make_lean)

    async def feed_all(stage: str) -> None:
        log.append(f"-- {stage}")
        for update in _updates(bot):
            log.append(await dispatcher.feed_update(bot, update))

    await feed_all("bare")
    dispatcher.update.outer_middleware(_tracer(log, "update-outer"))
    await feed_all("update outer")
    router.callback_query.outer_middleware(_tracer(log, "router-outer"))
    dispatcher.callback_query.middleware(_tracer(log, "root-inner"))
    router.callback_query.middleware(_tracer(log, "router-inner", skip=True))
    router.message.middleware(_tracer(log, "message-inner"))
    dispatcher.edited_message.outer_middleware(_tracer(log, "root-edit-outer"))
    router.edited_message.middleware(_tracer(log, "router-edit-inner"))
    await feed_all("every level")
    dispatcher.update.outer_middleware.unregister(dispatcher.update.outer_middleware[-1])
    router.callback_query.middleware.unregister(router.callback_query.middleware[0])
    await feed_all("some removed")
    await bot.session.close()
    return log


async def test_lean_dispatch_routes_as_aiograms_own_as_middlewares_come_and_go():
    stock, lean_log = await _run(make_lean=False), await _run(make_lean=True)

    assert lean_log == stock
    assert "router-inner>CallbackQuery" in stock  # the comparison saw every kind of middleware
    assert "other:a|svc:cut" in stock  # the skipping middleware passed a press on
    assert "error:boom" in stock
    assert "button:svc:cut:client" in stock
    assert "router-edit-inner>Message" in stock and "edit:правка:nested" in stock
    every = stock.index("-- every level")
    assert stock.index("update-outer>Update", every) < stock.index("-- some removed")
    assert "update-outer>Update" not in stock[stock.index("-- some removed") :]


async def test_the_update_observers_kept_chain_follows_its_middlewares():
    log: list = []
    bot = Bot(TOKEN)
    dispatcher, _ = _dispatcher(log, make_lean=True)
    update = _updates(bot)[0]
    await dispatcher.feed_update(bot, update)
    dispatcher.update.outer_middleware(_tracer(log, "late"))
    await dispatcher.feed_update(bot, update)
    assert log.count("late>Update") == 1
    await bot.session.close()


def test_the_client_bots_dispatcher_is_lean():
    dialogs = SimpleNamespace(
        texts=Texts("ru"), clock=FakeClock(dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    )
    dispatcher = build_dispatcher(dialogs)
    assert type(dispatcher) is LeanDispatcher
    assert all(type(r) is LeanRouter for r in dispatcher.sub_routers)
    observers = [o for r in dispatcher.chain_tail for o in r.observers.values()]
    assert len(observers) > 20
    assert all(type(o) is LeanObserver for o in observers)


@pytest.mark.parametrize("make_lean", [False, True])
async def test_an_update_nobody_handles_is_unhandled(make_lean):
    from aiogram.dispatcher.event.bases import UNHANDLED

    bot = Bot(TOKEN)
    dispatcher, _ = _dispatcher([], make_lean)
    poll = Update.model_validate(
        {"update_id": 9, "channel_post": {"message_id": 1, "date": 0, "chat": CHAT}},
        context={"bot": bot},
    )
    assert await dispatcher.feed_update(bot, poll) is UNHANDLED
    await bot.session.close()
