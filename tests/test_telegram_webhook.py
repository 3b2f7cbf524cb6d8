"""Telegram webhook mode over real HTTP: the fake Bot API posts updates to the bots' paths
on the product's aiohttp server, as Telegram does, with the secret setWebhook registered."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiogram import Dispatcher
from aiohttp import web

from admin_bot.context import StaffContext
from bot import dialog_store
from bot.app import build_dispatcher, build_staff_dispatcher
from bot.delivery.channel import ChannelSet
from bot.dialogs import DialogService
from bot.models import Conversation
from bot.settings import Settings, SettingsError, check_channels, load_settings
from handlers import telegram_webhook
from handlers.registry import serve
from handlers.telegram import make_bot
from handlers.telegram_webhook import TelegramWebhooks, delete_webhooks, telegram_webhooks
from tests.conftest import ROOT
from tests.conftest import _free_port as free_port
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import has

CLIENT, STAFF = "314159:client", "271828:staff"
CLIENT_SECRET, STAFF_SECRET = "client-Secret_1", "staff-Secret_2"
OLGA = FakeUser(501, "Ольга")


def webhook_settings(api: FakeBotApi, port: int) -> Settings:
    return load_settings(
        bot_token=CLIENT,
        staff_bot_token=STAFF,
        telegram_api_url=api.base_url,
        telegram_mode="webhook",
        public_base_url=f"http://127.0.0.1:{port}",
        telegram_webhook_secret=CLIENT_SECRET,
        staff_webhook_secret=STAFF_SECRET,
        webhook_host="127.0.0.1",
        webhook_port=port,
    )


@dataclass
class Rig:
    api: FakeBotApi
    webhooks: TelegramWebhooks
    runner: web.AppRunner
    client: Dispatcher


@pytest.fixture
async def rig(dialogs: DialogService, config, clock) -> AsyncIterator[Rig]:
    """Both bots served as bot/app.py serves them: handlers.registry.serve plus the
    webhooks' routes."""
    async with FakeBotApi() as api:
        settings = webhook_settings(api, free_port())
        client_bot = api.make_bot(CLIENT, parse_mode=None)  # as make_bot, minus a 0.25 s close
        staff = StaffContext.create(config, clock, [9001], client_bot)
        client = build_dispatcher(dialogs)
        pairs = {
            "client": (client, client_bot),
            "staff": (build_staff_dispatcher(staff), api.make_bot(STAFF, parse_mode=None)),
        }
        webhooks = telegram_webhooks(settings, pairs)
        runner = await serve(settings, ChannelSet({}), webhooks.register)
        assert runner is not None
        await webhooks.set_all()
        rig = Rig(api, webhooks, runner, client)
        try:
            yield rig
        finally:
            await runner.cleanup()  # idempotent when a test already shut it down


async def test_set_webhook_records_url_secret_and_the_routers_update_types(rig: Rig):
    base = rig.webhooks.base_url
    client, staff = rig.api.webhook(CLIENT), rig.api.webhook(STAFF)
    assert client is not None and staff is not None
    assert client["url"] == f"{base}/telegram/client"
    assert staff["url"] == f"{base}/telegram/staff"
    assert (client["secret_token"], staff["secret_token"]) == (CLIENT_SECRET, STAFF_SECRET)
    assert set(client["allowed_updates"]) == {"message", "callback_query", "pre_checkout_query"}
    assert "message" in staff["allowed_updates"]
    assert "chat_member" not in client["allowed_updates"]


async def test_an_update_with_the_right_secret_is_answered(rig: Rig):
    rig.api.send_command(CLIENT, OLGA, "/start src-vk")  # the fake POSTs it to the webhook
    await rig.api.wait_for_message(CLIENT, OLGA.id, has("152-ФЗ"))
    for _ in range(500):  # the 200 follows the step's answer (acknowledged once handled)
        if rig.api.webhook_statuses(CLIENT):
            break
        await asyncio.sleep(0.01)
    assert rig.api.webhook_statuses(CLIENT) == [200]
    owner = FakeUser(9001, "Владелец")
    rig.api.send_command(STAFF, owner, "/help")
    await rig.api.wait_for_message(STAFF, owner.id)


@pytest.mark.parametrize("secret", ["wrong", "", None, STAFF_SECRET, CLIENT_SECRET + "x"])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_handled(rig: Rig, secret):
    update = {"update_id": 1, "message": _message("/start")}
    assert await rig.api.post_webhook(CLIENT, update, secret) == 401
    await rig.webhooks.drain()
    assert rig.api.calls(CLIENT, "sendMessage") == []
    assert await Conversation.all().count() == 0


async def test_shutdown_waits_for_an_update_being_handled(rig: Rig, monkeypatch):
    started, release = asyncio.Event(), asyncio.Event()
    # parked before it reaches its chat's turn: acknowledged once ACK_WAIT is over
    monkeypatch.setattr(telegram_webhook, "ACK_WAIT", 0.1)

    async def hold(handler, event, data):  # parks the update inside the dispatcher
        started.set()
        await release.wait()
        return await handler(event, data)

    rig.client.update.outer_middleware(hold)
    update = {"update_id": 7, "message": _message("/start src-vk")}
    assert await rig.api.post_webhook(CLIENT, update, CLIENT_SECRET) == 200  # acknowledged
    await started.wait()
    shutdown = asyncio.create_task(rig.runner.cleanup())
    for _ in range(200):  # let the shutdown run as far as it can without the update
        await asyncio.sleep(0)
    assert not shutdown.done()  # waiting for the update
    release.set()
    await shutdown
    assert any(has("152-ФЗ")(m) for m in rig.api.sent(CLIENT, OLGA.id))
    assert await Conversation.filter(chat_id=str(OLGA.id)).exists()


async def test_delete_webhook_returns_the_bot_to_polling(rig: Rig):
    bots = {"client": make_bot(CLIENT, rig.api.base_url)}
    await delete_webhooks(bots)
    assert rig.api.webhook(CLIENT) is None
    assert rig.api.webhook(STAFF) is not None


def test_webhook_mode_needs_the_public_url_and_a_secret_per_bot():
    base = {"bot_token": CLIENT, "staff_bot_token": STAFF, "telegram_mode": "webhook"}
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL"):
        check_channels(load_settings(**base))
    url = {**base, "public_base_url": "https://bot.example.com"}
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        check_channels(load_settings(**url))
    with pytest.raises(SettingsError, match="STAFF_WEBHOOK_SECRET"):
        check_channels(load_settings(**url, telegram_webhook_secret="abc"))
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(**url, telegram_webhook_secret="not allowed!")
    check_channels(load_settings(**url, telegram_webhook_secret="a", staff_webhook_secret="b"))


def _message(text: str) -> dict:
    return {
        "message_id": 1,
        "date": 1_700_000_000,
        "from": OLGA.to_dict(),
        "chat": OLGA.chat(),
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
    }


async def test_python_m_bot_serves_both_webhooks_and_drains_on_sigterm(tmp_path):
    """The real process: setWebhook at start, an update through the webhook, /readyz and
    /metrics on the same port, SIGTERM after the update → a clean exit; then
    `python -m bot webhook delete`."""
    async with FakeBotApi() as api:
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": CLIENT,
            "STAFF_BOT_TOKEN": STAFF,
            "TELEGRAM_API_URL": api.base_url,
            "DATABASE_URL": f"sqlite://{tmp_path / 'run.sqlite3'}",
            "OWNER_TELEGRAM_IDS": "9001",
            "REDIS_URL": "",
            "TELEGRAM_MODE": "webhook",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "TELEGRAM_WEBHOOK_SECRET": CLIENT_SECRET,
            "STAFF_WEBHOOK_SECRET": STAFF_SECRET,
            "WEBHOOK_HOST": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
        )
        try:
            await api.wait_for_call(STAFF, "setWebhook", timeout=30)
            assert api.calls(CLIENT, "getUpdates") == []  # no polling in webhook mode
            rig_url = f"http://127.0.0.1:{port}"
            assert await api.post_webhook(CLIENT, {"update_id": 1}, "wrong") == 401
            api.send_command(CLIENT, OLGA, "/start src-vk")
            await api.wait_for_message(CLIENT, OLGA.id, has("152-ФЗ"), timeout=10)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{rig_url}/readyz") as response:
                    assert response.status == 200, await response.text()
                async with http.get(f"{rig_url}/metrics") as response:
                    body = await response.text()
            assert 'priyom_updates_handled_total{channel="telegram"} 1.0' in body
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout=20)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert b"event=webhook_set" in stderr and b"event=stopped" in stderr
        delete = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "webhook", "delete", cwd=tmp_path, env=env
        )
        assert await asyncio.wait_for(delete.wait(), timeout=30) == 0
        assert api.webhook(CLIENT) is None and api.webhook(STAFF) is None


async def test_the_update_is_acknowledged_only_once_its_step_committed(rig: Rig, monkeypatch):
    """An instance killed before the 200 leaves the update to Telegram, which delivers it
    again: so the 200 must not come before the step's changes are in the database (the
    step here has its chat's turn and waits at its commit)."""
    release = asyncio.Event()
    commits = {name: getattr(dialog_store, name) for name in ("commit_alone", "save_and_commit")}

    def held(commit):
        async def wait_then_commit(*args, **kwargs):
            await release.wait()
            return await commit(*args, **kwargs)

        return wait_then_commit

    for name, commit in commits.items():
        monkeypatch.setattr(dialog_store, name, held(commit))
    update = {"update_id": 8, "message": _message("/start src-vk")}
    posted = asyncio.create_task(rig.api.post_webhook(CLIENT, update, CLIENT_SECRET))
    for _ in range(300):
        await asyncio.sleep(0)
    assert not posted.done()  # not acknowledged while the step has not committed
    release.set()
    assert await posted == 200
    assert await Conversation.filter(chat_id=str(OLGA.id)).exists()  # committed by then


async def test_a_step_that_failed_is_not_acknowledged(rig: Rig):
    """A 503 makes Telegram deliver the update again instead of losing it."""

    async def fail(handler, event, data):
        raise ConnectionError("database unreachable")

    rig.client.update.outer_middleware(fail)
    update = {"update_id": 9, "message": _message("/start src-vk")}
    assert await rig.api.post_webhook(CLIENT, update, CLIENT_SECRET) == 503


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "the body is not JSON"),
        (b'{"update_id": "first", "message": 5}', "the body is not a Telegram update"),
    ],
)
async def test_a_malformed_body_with_the_right_secret_gets_a_400(rig: Rig, body, reason):
    url = f"{rig.webhooks.base_url}/telegram/client"
    headers = {"X-Telegram-Bot-Api-Secret-Token": CLIENT_SECRET}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        assert (r.status, (await r.json())["description"]) == (400, reason)
    assert await Conversation.all().count() == 0


async def _press_consent(rig: Rig) -> str:
    """/start, then «Согласен» through the webhook; the press's callback query id."""
    rig.api.send_command(CLIENT, OLGA, "/start src-vk")
    await rig.api.wait_for_message(CLIENT, OLGA.id, has("152-ФЗ"))
    return rig.api.press_button(CLIENT, OLGA, "a|consent:yes")["callback_query"]["id"]


async def _answers(rig: Rig, query_id: str) -> list:
    await rig.api.wait_for_call(CLIENT, "answerCallbackQuery", timeout=10)
    await rig.webhooks.drain()
    calls = rig.api.calls(CLIENT, "answerCallbackQuery")
    return [c for c in calls if c.params.get("callback_query_id") == query_id]


async def test_a_button_press_is_answered_in_the_webhook_response(rig: Rig):
    """The 200 that follows the step carries answerCallbackQuery: Telegram makes the call,
    the bot saves one HTTP request per press."""
    query_id = await _press_consent(rig)
    answers = await _answers(rig, query_id)
    assert [a.in_webhook_response for a in answers] == [True]
    assert rig.api.webhook_statuses(CLIENT) == [200, 200]
    assert (await Conversation.get(chat_id=str(OLGA.id))).state.get("consented")


async def test_a_press_acknowledged_before_its_step_ended_is_still_answered_once(
    rig: Rig, monkeypatch
):
    """Past ACK_WAIT the 200 has gone without the answer: the step's task calls it."""
    query_id = await _press_consent(rig)  # the /start is answered before ACK_WAIT changes
    # (the press is posted once the test awaits; its step then waits at the commit)
    release = asyncio.Event()
    for name in ("commit_alone", "save_and_commit"):
        monkeypatch.setattr(dialog_store, name, _held(getattr(dialog_store, name), release))
    monkeypatch.setattr(telegram_webhook, "ACK_WAIT", 0.05)
    for _ in range(500):
        if len(rig.api.webhook_statuses(CLIENT)) == 2:
            break
        await asyncio.sleep(0.01)
    assert rig.api.webhook_statuses(CLIENT) == [200, 200]  # acknowledged, step not done
    assert rig.api.calls(CLIENT, "answerCallbackQuery") == []
    release.set()
    answers = await _answers(rig, query_id)
    assert [a.in_webhook_response for a in answers] == [False]


def _held(commit, release: asyncio.Event):
    async def wait_then_commit(*args, **kwargs):
        await release.wait()
        return await commit(*args, **kwargs)

    return wait_then_commit
