"""Receipt and reply of the WhatsApp and MAX webhooks, over real HTTP: a message id is
committed with the step it caused, replies go through the outbox, and a malformed but
signed body is acknowledged, never a 500."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from tortoise import Tortoise

from bot.delivery.outbox import deliver_due
from bot.logs import setup_logging
from bot.models import Conversation, InboundMessage, MessageLog, Outbox, OutboxStatus
from tests.fakes.graph_api import text_of
from tests.test_max import ANNA_ID, max_rig, said, started
from tests.whatsapp_helpers import message, sign, text, whatsapp_rig

OLGA = "79271234567"
GREETING = ("Лиса", "152-ФЗ")  # the first step's two replies: a greeting, the consent


@pytest.fixture
async def wa(dialogs):
    async with whatsapp_rig(dialogs) as rig:
        yield rig


@pytest.fixture
async def mx(dialogs):
    async with max_rig(dialogs) as rig:
        yield rig


@pytest.fixture
def production_logging() -> Iterator[io.StringIO]:
    """Logging as `python -m bot` sets it up (bot/logs.py, INFO), written to a buffer;
    pytest's own restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging("INFO")
    lines = io.StringIO()
    root.handlers[0].setStream(lines)
    yield lines
    root.handlers[:], root.level = handlers, level
    for noisy in ("aiogram.event", "tortoise", "aiosqlite", "aerich"):
        logging.getLogger(noisy).setLevel(logging.NOTSET)


async def refuse_message_log(on: bool) -> None:
    """A real database failure inside the step's transaction (its message-log insert)."""
    conn = Tortoise.get_connection("default")
    if on:
        await conn.execute_script(
            "CREATE TRIGGER refuse BEFORE INSERT ON message_log "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;"
        )
    else:
        await conn.execute_script("DROP TRIGGER refuse;")


async def tick_until_idle(adapter, clock) -> int:
    """The timed outbox delivery, after the longest backoff, until nothing is left."""
    clock.advance(minutes=10)
    total = 0
    while sent := await deliver_due(adapter, clock):
        total += sent
    return total


# --- item 1: receipt and processing are one unit ---------------------------------------


async def test_graph_refusing_the_reply_loses_nothing_and_sends_nothing_twice(wa, clock):
    wa.graph.fail_next(500, 1)  # Graph is down when the answer goes out
    payload = text(OLGA, "Здравствуйте", mid="wamid.first")
    assert await wa.post(payload) == 200  # committed: Meta need not redeliver
    assert wa.graph.to(OLGA) == []
    assert await wa.post(payload) == 200  # Meta redelivers anyway: not processed twice
    assert await MessageLog.filter(direction="in").count() == 1
    assert await Outbox.filter(kind="reply", status=OutboxStatus.PENDING).count() == 2

    assert await tick_until_idle(wa.adapter, clock) == 2  # the answer arrives later, once
    texts = [text_of(m) for m in wa.graph.to(OLGA)]
    assert len(texts) == 2
    assert [any(part in t for t in texts) for part in GREETING] == [True, True]
    assert await tick_until_idle(wa.adapter, clock) == 0


async def test_replies_wait_behind_a_failed_one_to_keep_their_order(wa, clock):
    wa.graph.fail_next(500, 1)
    await wa.post(text(OLGA, "Здравствуйте"))
    first, second = await Outbox.filter(kind="reply").order_by("id")
    assert (first.status, second.status) == (OutboxStatus.PENDING, OutboxStatus.PENDING)
    assert second.due_at == first.due_at and second.locked_until is None


async def test_a_step_that_fails_in_the_database_is_processed_on_redelivery(wa):
    payload = text(OLGA, "Здравствуйте", mid="wamid.retry")
    await refuse_message_log(True)
    assert await wa.post(payload) == 500  # Meta will redeliver
    assert await InboundMessage.all().count() == 0  # the receipt rolled back with the step
    assert await Conversation.filter(version__gt=0).count() == 0
    assert wa.graph.sent == []
    await refuse_message_log(False)
    assert await wa.post(payload) == 200  # the redelivery is processed
    assert len(wa.graph.to(OLGA)) == 2
    assert await wa.post(payload) == 200  # and then it is a duplicate
    assert len(wa.graph.to(OLGA)) == 2


async def test_a_max_step_that_fails_is_processed_on_redelivery(mx):
    update = started(ANNA_ID)
    await refuse_message_log(True)
    assert await mx.post(update) == 500
    assert await InboundMessage.all().count() == 0
    await refuse_message_log(False)
    assert await mx.post(update) == 200
    assert len(mx.api.to(ANNA_ID)) == 2
    assert await mx.post(update) == 200
    assert len(mx.api.to(ANNA_ID)) == 2


# --- item 2: a redelivery at the production log level ----------------------------------


async def test_a_redelivery_is_acknowledged_with_logging_as_in_production(
    wa, mx, production_logging
):
    payload = text(OLGA, "Здравствуйте", mid="wamid.twice")
    assert [await wa.post(payload), await wa.post(payload)] == [200, 200]
    update = said(ANNA_ID, "привет", mid="mid.twice")
    assert [await mx.post(update), await mx.post(update)] == [200, 200]
    lines = [
        line for line in production_logging.getvalue().splitlines() if "duplicate_delivery" in line
    ]
    assert len(lines) == 2
    assert "delivery=wamid.twice" in lines[0] and OLGA not in lines[0]


# --- item 12: malformed but signed bodies ----------------------------------------------


def _wa_message(**fields) -> bytes:
    m = {"from": OLGA, "id": "wamid.bad", "type": "text", "text": {"body": "hi"}} | fields
    return json.dumps({"entry": [{"changes": [{"value": {"messages": [m]}}]}]}).encode()


MALFORMED_WA = {
    "nested too deeply": b'{"entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "a 5000-digit number": b'{"entry": [], "n": ' + b"7" * 5000 + b"}",
    "text not an object": _wa_message(text="hi"),
    "from a number": _wa_message(**{"from": 79271234567}),
    "a null message id": _wa_message(id=None),
    "entry not a list": b'{"entry": "x"}',
    "not an object": b"[1, 2]",
}


@pytest.mark.parametrize("body", MALFORMED_WA.values(), ids=MALFORMED_WA.keys())
async def test_a_malformed_whatsapp_body_is_logged_once_and_acknowledged(wa, caplog, body):
    caplog.set_level(logging.INFO)
    headers = {"X-Hub-Signature-256": sign(body)}
    async with wa.http.post(wa.url, data=body, headers=headers) as resp:
        assert resp.status == 200
    assert await InboundMessage.all().count() == 0 and wa.graph.sent == []
    logged = [r for r in caplog.records if r.getMessage() == "malformed_update"]
    assert len(logged) == 1 and logged[0].channel == "whatsapp"
    assert OLGA not in caplog.text  # neither the body nor the phone


async def test_a_5000_digit_text_is_just_text(wa):
    replies = await wa.say(OLGA, text(OLGA, "Здравствуйте"))
    replies = await wa.choose(OLGA, replies, "✅ Согласен")
    replies = await wa.say(OLGA, text(OLGA, "1" * 5000))  # not an option number
    assert "Не нашёл такую услугу" in text_of(replies[0])


MALFORMED_MAX = {
    "nested too deeply": b'{"update_type": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "a 5000-digit user id": b'{"update_type": "bot_started", "user": {"user_id": '
    + b"4" * 5000
    + b"}}",
    "message not an object": b'{"update_type": "message_created", "message": "x"}',
    "callback user a string": b'{"update_type": "message_callback", "callback": {"user": "x"}}',
    "no update type": b'{"message": {}}',
    "not an object": b'"bot_started"',
}


@pytest.mark.parametrize("body", MALFORMED_MAX.values(), ids=MALFORMED_MAX.keys())
async def test_a_malformed_max_update_is_logged_once_and_acknowledged(mx, caplog, body):
    caplog.set_level(logging.INFO)
    headers = {"X-Max-Bot-Api-Secret": "max-hook-secret"}
    async with mx.http.post(mx.url, data=body, headers=headers) as resp:
        assert resp.status == 200
    assert await InboundMessage.all().count() == 0 and mx.api.sent == []
    logged = [r for r in caplog.records if r.getMessage() == "malformed_update"]
    assert len(logged) == 1 and logged[0].channel == "max"


async def test_a_max_body_that_is_not_json_is_a_400(mx):
    headers = {"X-Max-Bot-Api-Secret": "max-hook-secret"}
    for body in (b"not json", b"\xff\xfe\x00garbage"):
        async with mx.http.post(mx.url, data=body, headers=headers) as resp:
            assert resp.status == 400


# --- item 13: MAX updates without an id of their own -----------------------------------


async def test_max_updates_without_mid_are_deduplicated_by_their_content(mx):
    hello = started(ANNA_ID)
    del hello["timestamp"]
    assert len(await mx.say(hello)) == 2
    assert await mx.say(hello) == []  # the same update again
    other = hello | {"payload": "src-instagram"}
    assert len(await mx.say(other)) == 2  # another /start, also without a timestamp
    note = said(ANNA_ID, "привет")
    del note["message"]["body"]["mid"]
    first = await mx.say(note)
    assert first and await mx.say(note) == []
    later = json.loads(json.dumps(note))
    later["message"]["body"]["text"] = "ещё вопрос"
    assert await mx.say(later)
    keys = await InboundMessage.filter(channel="max").values_list("message_id", flat=True)
    assert len(keys) == 4 and all(k.startswith("sha256:") for k in keys)


async def test_a_whatsapp_image_and_a_template_reply_still_parse(wa):
    await wa.say(OLGA, text(OLGA, "Здравствуйте"))
    image = {"type": "image", "image": {"id": "media.1", "caption": "вот"}}
    assert await wa.post(message(OLGA, image)) == 200
    rows = await MessageLog.filter(direction="in").order_by("id").values_list("kind", flat=True)
    assert list(rows) == ["text", "media"]
    assert await InboundMessage.filter(chat_id=OLGA).count() == 2
