"""A Bot API outage: transient failures never make a message dead, stale ones are skipped,
staff hear once. The real aiogram bots talk HTTP to the fake Bot API, which refuses
connections and then answers 500 for a while; the timed work runs on a moved clock."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    RestartingTelegram,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage

from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.delivery.outbox import MAX_BACKOFF_SECONDS, Message, RetryLater, Undeliverable, enqueue
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus, Client, Outbox, OutboxStatus
from handlers import max as max_channel
from handlers import whatsapp_api
from handlers.telegram_outbox import TelegramSender, verdict
from tests.fakes.bot_api import FakeBotApi
from tests.test_delivery import TOKEN, deliver, make_bot, statuses
from tests.timed_helpers import OWNER, SAMARA
from workers.embedded import tick
from workers.timed import TimedWork

STAFF_TOKEN = "654321:STAFF"
TUE_12 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=SAMARA)  # no weekly report, no quiet hours


@pytest.fixture
async def api():
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bots(api):
    client, staff = make_bot(api), api.make_bot(STAFF_TOKEN, parse_mode=None)
    yield {"client": client, "staff": staff}
    await client.session.close()
    await staff.session.close()


async def visit(chat: int, start: dt.datetime, booked: dt.datetime) -> Appointment:
    client = await Client.create(
        channel="telegram", channel_user_id=str(chat), name=f"Клиент {chat}", created_at=booked
    )
    return await Appointment.create(
        client=client,
        service_id="cut",
        master_id="anna",
        start=start,
        end=start + dt.timedelta(hours=1),
        price_kop=150000,
        status=AppointmentStatus.CONFIRMED,
        created_at=booked,
    )


async def run(work: TimedWork, sender: TelegramSender, clock: FakeClock, minutes: int) -> None:
    """The embedded loop's tick every 10 s of moved clock."""
    for _ in range(minutes * 6):
        await tick(work, sender)
        clock.advance(seconds=10)


async def test_half_hour_outage_delivers_every_true_reminder_once_and_alerts_staff_once(
    db, config: BusinessConfig, clock: FakeClock, api: FakeBotApi, bots, caplog
):
    clock.set(TUE_12)
    booked = TUE_12 - dt.timedelta(hours=1, minutes=30)  # so only the reminders below are due
    # 24 h reminders due at 12:10 and 12:25, a 2 h one due at 12:20: all during the outage,
    # their visits after it. The 12:15 visit's 2 h reminder is due already; the visit begins
    # while the Bot API is down, so that reminder must never arrive late.
    future = {
        601: await visit(601, TUE_12 + dt.timedelta(days=1, minutes=10), booked),
        602: await visit(602, TUE_12 + dt.timedelta(hours=2, minutes=20), booked),
        603: await visit(603, TUE_12 + dt.timedelta(days=1, minutes=25), booked),
    }
    begun = await visit(604, TUE_12 + dt.timedelta(minutes=15), booked - dt.timedelta(hours=1))
    work = TimedWork(config, Texts("ru"), clock, frozenset({OWNER}))
    sender = TelegramSender(bots)
    caplog.set_level(logging.INFO, logger="priyom.outbox")

    await api.refuse_connections()
    await run(work, sender, clock, 15)
    await api.accept_connections()
    api.fail_all(500)
    await run(work, sender, clock, 15)
    assert OutboxStatus.DEAD not in await statuses()
    assert await Outbox.filter(kind="reminder").count() == 4
    assert not await Outbox.filter(kind="reminder", status=OutboxStatus.SENT).exists()
    assert len(api.calls(TOKEN, "sendMessage")) > 0  # the 500s were met, not only refusals
    # the old policy gave up after 8 attempts (about 4.5 minutes)
    assert max(await Outbox.filter(kind="reminder").values_list("attempts", flat=True)) > 8

    api.fail_all(None)  # the Bot API is back
    await run(work, sender, clock, MAX_BACKOFF_SECONDS // 60 + 2)

    for chat in future:
        (reminder,) = api.sent(TOKEN, chat)  # exactly once
        assert f"Клиент {chat}" in reminder["text"]
    assert api.sent(TOKEN, 604) == []
    rows = {r.appointment_id: r.status for r in await Outbox.filter(kind="reminder")}
    assert rows == {
        **{a.id: OutboxStatus.SENT for a in future.values()},
        begun.id: OutboxStatus.SKIPPED,
    }
    assert OutboxStatus.DEAD not in await statuses()

    alerts = api.sent(STAFF_TOKEN, OWNER)
    assert len(alerts) == 1 and alerts[0]["text"].startswith("⚠️ Сообщения клиентам задерживаются")
    assert await Outbox.filter(kind="late").count() == 1
    assert [r.message for r in caplog.records].count("delivery_recovered") == 1

    # A later outage is a new one: staff hear again, once.
    await api.refuse_connections()
    await enqueue(
        bot="client",
        chat_id=605,
        kind="notice",
        message=Message("Ваша запись подтверждена"),
        dedup_key="confirmation:605",
        now=clock.now(),
    )
    await run(work, sender, clock, 20)
    await api.accept_connections()
    await run(work, sender, clock, MAX_BACKOFF_SECONDS // 60 + 2)
    assert len(api.sent(TOKEN, 605)) == 1  # a confirmation goes however late
    assert len(api.sent(STAFF_TOKEN, OWNER)) == 2
    assert [r.message for r in caplog.records].count("delivery_recovered") == 2


# --------------------------------------------------------------------------- classification


async def queued(clock: FakeClock, chat: int = 777) -> Outbox:
    row = await enqueue(
        bot="client",
        chat_id=chat,
        kind="notice",
        message=Message("hello"),
        dedup_key=f"notice:{chat}",
        now=clock.now(),
    )
    assert row is not None
    return row


async def test_blocked_is_dead_at_once(db, clock, api, bots):
    row = await queued(clock)
    api.block_chat(777)
    assert await deliver(bots["client"], clock) == 0
    await row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 0)


async def test_a_hundred_500s_leave_the_row_pending(db, clock, api, bots):
    row = await queued(clock)
    api.fail_all(500)
    for attempt in range(1, 101):
        assert await deliver(bots["client"], clock) == 0
        await row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, attempt)
        wait = (row.due_at - clock.now()).total_seconds()
        assert 0 < wait <= MAX_BACKOFF_SECONDS
        clock.advance(seconds=wait)
    assert wait >= MAX_BACKOFF_SECONDS / 2  # capped and jittered, not growing without end
    api.fail_all(None)
    assert await deliver(bots["client"], clock) == 1
    assert len(api.sent(TOKEN, 777)) == 1


SEND = SendMessage(chat_id=1, text="x")
TELEGRAM = [
    pytest.param(TelegramForbiddenError(SEND, "Forbidden: bot was blocked by the user"), "dead"),
    pytest.param(TelegramForbiddenError(SEND, "Forbidden: user is deactivated"), "dead"),
    pytest.param(TelegramBadRequest(SEND, "Bad Request: chat not found"), "dead"),
    pytest.param(TelegramBadRequest(SEND, "Bad Request: message is too long"), "dead"),
    pytest.param(TelegramEntityTooLarge(SEND, "Request Entity Too Large"), "dead"),
    pytest.param(TelegramMigrateToChat(SEND, "migrated", migrate_to_chat_id=-100), "dead"),
    pytest.param(TelegramRetryAfter(SEND, "Too Many Requests", retry_after=9), 9),
    pytest.param(TelegramNetworkError(SEND, "ClientConnectorError: Connection refused"), 0),
    pytest.param(TelegramNetworkError(SEND, "Request timeout error"), 0),
    pytest.param(TelegramServerError(SEND, "Internal Server Error"), 0),
    pytest.param(RestartingTelegram(SEND, "Bad Gateway: restarting"), 0),
    pytest.param(TelegramUnauthorizedError(SEND, "Unauthorized"), 0),
    pytest.param(TelegramNotFound(SEND, "Not Found"), 0),
    pytest.param(TelegramConflictError(SEND, "Conflict"), 0),
    pytest.param(ClientDecodeError("Failed to decode object", ValueError(), "<html>"), 0),
]


def outcome(exc: Exception) -> str | float:
    """ "dead", or the seconds a retry waits (0: exponential backoff)."""
    assert isinstance(exc, RetryLater | Undeliverable)
    return "dead" if isinstance(exc, Undeliverable) else exc.seconds


@pytest.mark.parametrize(("error", "expected"), TELEGRAM)
def test_telegram_classification(error, expected):
    assert outcome(verdict(error)) == expected


def graph(code: int | None) -> dict:
    return {"error": {"code": code, "message": "m"}}


GRAPH = [
    pytest.param(400, graph(131026), "dead", id="message-undeliverable"),
    pytest.param(400, graph(131030), "dead", id="recipient-not-allowed"),
    pytest.param(400, graph(100), "dead", id="invalid-parameter"),
    pytest.param(400, graph(131047), "dead", id="outside-24h-window"),
    pytest.param(429, graph(130429), whatsapp_api.THROTTLE_WAIT, id="rate-limit"),
    pytest.param(400, graph(131056), whatsapp_api.THROTTLE_WAIT, id="pair-rate-limit"),
    pytest.param(500, graph(131000), 0, id="500-something-went-wrong"),
    pytest.param(503, {}, 0, id="503-no-body"),
    pytest.param(400, graph(2), 0, id="temporary-api-error"),
    pytest.param(400, graph(133004), 0, id="server-temporarily-unavailable"),
    pytest.param(401, graph(190), 0, id="token-expired"),
]


@pytest.mark.parametrize(("status", "body", "expected"), GRAPH)
def test_whatsapp_classification(status, body, expected):
    assert outcome(whatsapp_api._error(status, body)) == expected


MAX = [(400, "dead"), (403, "dead"), (404, "dead"), (429, 1.0), (500, 0), (502, 0), (401, 0)]


@pytest.mark.parametrize(("status", "expected"), MAX)
def test_max_classification(status, expected):
    assert outcome(max_channel.verdict(status, f"max {status}")) == expected
