"""Deposits in Telegram, end to end over the fake Bot API: the invoice goes out through the
outbox (sendInvoice, RUB, integer kopecks, an opaque payload), the pre-checkout is answered
after re-checking the hold and the amount, and the successful payment confirms the booking
once with both charge ids kept."""

from __future__ import annotations

import asyncio
import tomllib

import pytest

from bot.config import parse_config
from bot.delivery.outbox import deliver_due
from bot.dialogs import DialogService
from bot.models import Appointment, AppointmentStatus, Outbox, OutboxStatus
from bot.payments.holds import Checkout
from bot.payments.models import Deposit, DepositStatus
from bot.payments.settle import record_telegram_payment
from handlers.telegram_outbox import TelegramSender
from tests.conftest import ROOT
from tests.fakes.bot_api import FakeUser
from tests.fakes.bot_payments import pay_invoice
from tests.flows import CLIENT_TOKEN, book_in_telegram, has, polling_client

PROVIDER_TOKEN = "381764678:TEST:100500"
OLGA = FakeUser(7001, "Ольга")


@pytest.fixture
def dialogs(db, clock) -> DialogService:
    with (ROOT / "examples" / "salon.toml").open("rb") as fh:
        data = tomllib.load(fh)
    data["deposits"] = {"services": [{"service": "manicure", "amount": 500}]}
    checkout = Checkout(invoice_channels=frozenset({"telegram"}))
    return DialogService(parse_config(data), clock, checkout=checkout)


async def _until(check, seconds: float = 5.0) -> None:
    """Wait for the polling bot to have handled an update (not for time to pass)."""
    for _ in range(int(seconds / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the bot did not get there")


async def _invoiced(api, clock) -> Deposit:
    await book_in_telegram(api, CLIENT_TOKEN, OLGA, confirm=False)
    api.press_button(CLIENT_TOKEN, OLGA, text="✅ Подтвердить запись")
    await api.wait_for_message(CLIENT_TOKEN, OLGA.id, has("внесите предоплату"))
    bot = api.make_bot(CLIENT_TOKEN, parse_mode=None)
    try:
        assert await deliver_due(TelegramSender({"client": bot}, PROVIDER_TOKEN), clock) == 1
    finally:
        await bot.session.close()
    call = await api.wait_for_call(CLIENT_TOKEN, "sendInvoice")
    deposit = await Deposit.get()
    assert call.params["currency"] == "RUB" and call.params["prices"][0]["amount"] == 50000
    assert call.params["payload"] == deposit.token != str(deposit.id)
    assert call.params["provider_token"] == PROVIDER_TOKEN
    return deposit


async def _status(deposit: Deposit) -> DepositStatus:
    await deposit.refresh_from_db()
    return deposit.status


async def test_paid_in_time_confirms_the_booking_once(dialogs, clock):
    async with polling_client(dialogs) as api:
        deposit = await _invoiced(api, clock)
        paid = await pay_invoice(api, CLIENT_TOKEN, OLGA, clock, slow_seconds=3)
        assert paid.ok

        async def confirmed() -> bool:
            return await _status(deposit) is DepositStatus.PAID

        await _until(confirmed)
        assert (deposit.telegram_charge_id, deposit.provider_charge_id) == (
            paid.telegram_charge_id,
            paid.provider_charge_id,
        )
        appointment = await Appointment.get(id=deposit.appointment_id)
        assert appointment.status is AppointmentStatus.CONFIRMED


async def test_a_pre_checkout_after_the_hold_ran_out_is_refused(dialogs, clock):
    async with polling_client(dialogs) as api:
        deposit = await _invoiced(api, clock)
        clock.advance(minutes=16)
        paid = await pay_invoice(api, CLIENT_TOKEN, OLGA, clock)
        assert not paid.ok and "истекло" in paid.error
        assert await _status(deposit) is DepositStatus.HELD  # the tick releases it


async def test_a_forged_amount_or_payload_is_refused(dialogs, clock):
    async with polling_client(dialogs) as api:
        deposit = await _invoiced(api, clock)
        paid = await pay_invoice(api, CLIENT_TOKEN, OLGA, clock, total=100)
        assert not paid.ok and "Сумма счёта изменилась" in paid.error
        paid = await pay_invoice(api, CLIENT_TOKEN, OLGA, clock, payload=str(deposit.id))
        assert not paid.ok and "Не нашёл этот счёт" in paid.error
        assert await _status(deposit) is DepositStatus.HELD


async def test_an_answer_later_than_10_seconds_fails_the_payment(dialogs, clock):
    async with polling_client(dialogs) as api:
        deposit = await _invoiced(api, clock)
        paid = await pay_invoice(api, CLIENT_TOKEN, OLGA, clock, slow_seconds=11)
        assert not paid.ok and paid.error == "late"
        assert await _status(deposit) is DepositStatus.HELD


async def test_a_repeated_or_foreign_successful_payment_changes_nothing(dialogs, clock):
    """The core's side of successful_payment: another chat's, a changed amount, a repeat."""
    async with polling_client(dialogs) as api:
        deposit = await _invoiced(api, clock)
    t, now, chat = dialogs.texts, clock.now(), str(OLGA.id)
    ids = ("tg-1", "2f-1")
    assert not await record_telegram_payment(deposit.token, "7002", "RUB", 50000, ids, t, now)
    assert not await record_telegram_payment(deposit.token, chat, "RUB", 100, ids, t, now)
    assert not await record_telegram_payment("forged", chat, "RUB", 50000, ids, t, now)
    assert await _status(deposit) is DepositStatus.HELD
    assert await record_telegram_payment(deposit.token, chat, "RUB", 50000, ids, t, now)
    clock.advance(minutes=1)
    again = ("tg-2", "2f-2")
    assert not await record_telegram_payment(
        deposit.token, chat, "RUB", 50000, again, t, clock.now()
    )
    await deposit.refresh_from_db()
    assert (deposit.paid_at, deposit.telegram_charge_id) == (now, "tg-1")


class Recording:
    def __init__(self) -> None:
        self.rows: list[str] = []

    async def send(self, row) -> int:
        self.rows.append(row.kind)
        return len(self.rows)


async def test_an_invoice_not_sent_before_the_hold_ran_out_is_skipped(dialogs, clock):
    async with polling_client(dialogs) as api:
        await book_in_telegram(api, CLIENT_TOKEN, OLGA, confirm=False)
        api.press_button(CLIENT_TOKEN, OLGA, text="✅ Подтвердить запись")
        await api.wait_for_message(CLIENT_TOKEN, OLGA.id, has("внесите предоплату"))
    clock.advance(minutes=15)
    sender = Recording()
    assert await deliver_due(sender, clock) == 0
    assert sender.rows == []
    assert (await Outbox.get(kind="invoice")).status is OutboxStatus.SKIPPED
