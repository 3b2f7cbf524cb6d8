"""A Telegram update is applied once, however often it is delivered (issue 16).

Telegram delivers an update again until it is acknowledged: by webhook until a 200, by
getUpdates until the next call's offset confirms it. A process killed (or timing out)
between its step's commit and that acknowledgement gets the update delivered again,
maybe to another instance. The step's receipt (the bot's id and the update id, committed
with the step) makes the redelivery change nothing and send nothing, and the webhook
answers it 200: it is handled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

from bot import dialogs as dialogs_module
from bot.app import build_dispatcher
from bot.dialogs import DialogService
from bot.models import Client, Conversation, InboundMessage, MessageLog
from handlers.telegram import pack_action
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import CLIENT_TOKEN, has
from tests.instances_rig import environment, fleet, fresh_database
from tests.test_telegram_webhook import (
    CLIENT,
    CLIENT_SECRET,
    OLGA,
    STAFF,
    STAFF_SECRET,
    Rig,
    _message,
)
from tests.test_telegram_webhook import rig as rig  # the fixture

CONSENT = pack_action("consent:yes")
CONSENT_ASKED = "152-ФЗ"


def _bot_calls(api: FakeBotApi, token: str) -> int:
    """What the bot said or changed: messages sent and edited."""
    return len(api.calls(token, "sendMessage")) + len(api.calls(token, "editMessageText"))


async def _acknowledged(api: FakeBotApi, count: int) -> None:
    """Until the fake's own deliveries have `count` answers (each follows its step)."""
    await api.wait_until(lambda: len(api.webhook_statuses(CLIENT)) >= count or None, 10)


async def test_the_same_update_posted_twice_is_applied_and_answered_once(rig: Rig):
    update = {"update_id": 41, "message": _message("/start src-vk")}
    assert await rig.api.post_webhook(CLIENT, update, CLIENT_SECRET) == 200
    said = _bot_calls(rig.api, CLIENT)  # the greeting and the consent question
    assert await rig.api.post_webhook(CLIENT, update, CLIENT_SECRET) == 200  # handled
    assert len([m for m in rig.api.sent(CLIENT, OLGA.id) if has(CONSENT_ASKED)(m)]) == 1
    assert _bot_calls(rig.api, CLIENT) == said == 2
    conv = await Conversation.get(chat_id=str(OLGA.id))
    assert conv.version == 1
    assert await MessageLog.filter(chat_id=str(OLGA.id), direction="in").count() == 1
    receipt = await InboundMessage.get(channel="telegram", message_id="314159:41")
    assert receipt.chat_id == str(OLGA.id)


async def test_a_redelivered_button_press_changes_and_sends_nothing(rig: Rig, monkeypatch):
    """Consent is a step with effects (the client's row): the look before the effects
    stops it; and when that look comes too late (another process committing meanwhile),
    the receipt's insert in the commit rolls the effects back."""
    rig.api.send_command(CLIENT, OLGA, "/start src-vk")
    await _acknowledged(rig.api, 1)
    pressed = rig.api.press_button(CLIENT, OLGA, CONSENT)
    await _acknowledged(rig.api, 2)
    said, version = _bot_calls(rig.api, CLIENT), (await Conversation.get()).version
    assert await Client.all().count() == 1
    assert await rig.api.post_webhook(CLIENT, pressed, CLIENT_SECRET) == 200
    monkeypatch.setattr(dialogs_module, "seen", _never_seen)
    assert await rig.api.post_webhook(CLIENT, pressed, CLIENT_SECRET) == 200
    assert _bot_calls(rig.api, CLIENT) == said
    assert (await Conversation.get()).version == version
    assert await Client.all().count() == 1
    assert await MessageLog.filter(direction="in").count() == 2
    assert rig.api.webhook_statuses(CLIENT) == [200, 200]


async def _never_seen(channel: str, receipt: str) -> bool:
    return False


@contextlib.asynccontextmanager
async def _polling(api: FakeBotApi, dialogs: DialogService) -> AsyncIterator[None]:
    """One process's poller: updates handled in order, stopped at the end (the offset of
    the last batch is then never confirmed, as when the process is killed)."""
    bot = api.make_bot(CLIENT_TOKEN, parse_mode=None)
    dispatcher = build_dispatcher(dialogs)
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


async def test_polling_the_same_update_id_in_two_batches_is_applied_once(db, config, clock, caplog):
    """A poller handled the update and died before its next getUpdates confirmed it; the
    next process gets the same update id again: nothing is applied twice, and the current
    question is asked again (the answer might not have left: bot.redeliveries)."""
    other = FakeUser(502, "Ирина")
    async with FakeBotApi() as api:
        async with _polling(api, DialogService(config, clock)):
            update = api.send_command(CLIENT_TOKEN, OLGA, "/start src-vk")
            await api.wait_for_message(CLIENT_TOKEN, OLGA.id, has(CONSENT_ASKED))
        said = len(api.sent(CLIENT_TOKEN, OLGA.id))
        api.redeliver(CLIENT_TOKEN, update)
        caplog.set_level(logging.INFO, logger="priyom.dialog")
        async with _polling(api, DialogService(config, clock)):  # a new process
            api.send_command(CLIENT_TOKEN, other, "/start")  # handled after the duplicate
            await api.wait_for_message(CLIENT_TOKEN, other.id, has(CONSENT_ASKED))
        assert said == 2
        again = api.sent(CLIENT_TOKEN, OLGA.id)
        assert len(again) == said + 1 and has(CONSENT_ASKED)(again[-1])
    duplicates = [r for r in caplog.records if r.getMessage() == "duplicate_delivery"]
    assert [r.delivery for r in duplicates] == [f"123456:{update['update_id']}"]  # it came
    conv = await Conversation.get(chat_id=str(OLGA.id))
    assert conv.version == 1
    assert await MessageLog.filter(chat_id=str(OLGA.id), direction="in").count() == 1


async def test_a_redelivery_to_the_other_instance_on_postgres_is_applied_once(
    postgres_url, tmp_path
):
    """Two `python -m bot` on one PostgreSQL: each update's first delivery reaches one
    instance, which commits and answers; its 200 is lost (the instance killed), so
    Telegram delivers it again, and the load balancer gives it to the other instance. That
    one applies nothing and, unable to know whether the answer left, asks the current
    question again."""
    database = await fresh_database(postgres_url)
    async with FakeBotApi() as api:
        env = environment(api, database, "")
        async with fleet(api, tmp_path, env, bots=2, workers=0):
            start = api.send_command(CLIENT, OLGA, "/start src-vk")  # instance 0
            await _acknowledged(api, 1)
            said = _bot_calls(api, CLIENT)
            assert await api.post_webhook(CLIENT, start, CLIENT_SECRET) == 200  # instance 1
            assert _bot_calls(api, CLIENT) == said + 1
            assert len([m for m in api.sent(CLIENT, OLGA.id) if has(CONSENT_ASKED)(m)]) == 2
            pressed = api.press_button(CLIENT, OLGA, CONSENT)  # instance 0
            await _acknowledged(api, 2)
            said = _bot_calls(api, CLIENT)
            shown = api.last_message(CLIENT, OLGA.id)
            assert await api.post_webhook(CLIENT, pressed, CLIENT_SECRET) == 200  # instance 1
            assert _bot_calls(api, CLIENT) == said + 1
            again = api.last_message(CLIENT, OLGA.id)
            assert again is not None and shown is not None
            assert (again["text"], again["reply_markup"]) == (shown["text"], shown["reply_markup"])
            # delivered again before the first delivery's step has even finished: both at
            # once, to the two instances (the chat's turn orders them, the receipt decides)
            pressed = api.press_button(CLIENT, OLGA, _first_button(api))  # instance 0
            assert await api.post_webhook(CLIENT, pressed, CLIENT_SECRET) == 200  # instance 1
            await _acknowledged(api, 3)
            assert api.webhook_statuses(CLIENT) == [200, 200, 200]
    connection = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        chat = str(OLGA.id)
        version = await connection.fetchval("SELECT version FROM conversation")
        inbound = "SELECT count(*) FROM message_log WHERE chat_id = $1 AND direction = 'in'"
        receipts = "SELECT count(*) FROM inbound_message WHERE channel = 'telegram'"
        assert version == 3
        assert await connection.fetchval(inbound, chat) == 3
        assert await connection.fetchval("SELECT count(*) FROM client") == 1
        assert await connection.fetchval(receipts) == 3
    finally:
        await connection.close()


def _first_button(api: FakeBotApi) -> str:
    """The callback data of the first button the client was last shown (a service)."""
    message = api.last_message(CLIENT, OLGA.id)
    assert message is not None
    return message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]


async def test_a_redelivered_staff_update_is_not_handled_again(rig: Rig):
    """The staff bot records an update's receipt once its handler returned (its actions
    commit on their own: admin_bot.receipts); a failed one records nothing."""
    owner = FakeUser(9001, "Владелец")
    message = {**_message("/help"), "from": owner.to_dict(), "chat": owner.chat()}
    update = {"update_id": 77, "message": message}
    assert await rig.api.post_webhook(STAFF, update, STAFF_SECRET) == 200
    assert len(rig.api.sent(STAFF, owner.id)) == 1
    assert await rig.api.post_webhook(STAFF, update, STAFF_SECRET) == 200
    assert len(rig.api.sent(STAFF, owner.id)) == 1
    receipt = await InboundMessage.get(message_id="271828:77")
    assert receipt.chat_id == str(owner.id)


async def test_a_staff_update_that_failed_is_handled_when_delivered_again(rig: Rig):
    owner = FakeUser(9001, "Владелец")
    message = {**_message("/help"), "from": owner.to_dict(), "chat": owner.chat()}
    update = {"update_id": 78, "message": message}
    rig.api.fail_next("sendMessage", 500, token=STAFF)  # the answer fails: so does the update
    assert await rig.api.post_webhook(STAFF, update, STAFF_SECRET) == 503
    assert not await InboundMessage.exists(message_id="271828:78")
    assert await rig.api.post_webhook(STAFF, update, STAFF_SECRET) == 200
    assert any(m.get("text") for m in rig.api.sent(STAFF, owner.id))
