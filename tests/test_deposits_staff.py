"""The owner's deposits in the staff bot over the fake Bot API: /deposits lists them with
«Вернуть»; the refund is queued once; a manager gets neither the list nor the refund, even
pressing a forged button (the role is checked in the service)."""

from __future__ import annotations

import datetime as dt

from bot.models import Appointment, AppointmentStatus, Outbox
from bot.payments.models import Deposit, DepositStatus
from bot.staffwork.actions import RefundDeposit
from tests import staff_fixtures
from tests.staff_fixtures import MASHA, OWNER, Desk

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures


async def _paid(clock) -> Deposit:
    now = clock.now()
    start = now + dt.timedelta(days=2)
    visit = await Appointment.create(
        service_id="coloring",
        master_id="marina",
        start=start,
        end=start + dt.timedelta(minutes=150),
        price_kop=450000,
        deposit_kop=100000,
        paid_kop=100000,
        status=AppointmentStatus.CONFIRMED,
        created_at=now,
    )
    return await Deposit.create(
        appointment_id=visit.id,
        channel="telegram",
        chat_id="501",
        token="t" * 24,
        amount_kop=100000,
        rule="service",
        status=DepositStatus.PAID,
        hold_until=now,
        refund_cutoff_hours=24,
        provider="telegram",
        payment_id="2f-yk-9",
        created_at=now,
        paid_at=now,
    )


async def test_an_owner_lists_and_refunds_a_deposit(desk: Desk, clock):
    deposit = await _paid(clock)
    desk.say(OWNER, "/deposits")
    listing = await desk.sees(OWNER, "Предоплаты (последние)")
    assert f"№{deposit.id}" in listing["text"] and "1\u00a0000\u00a0₽" in listing["text"]
    desk.tap(OWNER, f"Вернуть №{deposit.id} (1\u00a0000\u00a0₽)", listing)
    await desk.sees(OWNER, "поставлен в очередь")
    await deposit.refresh_from_db()
    assert deposit.status is DepositStatus.REFUND_DUE
    await desk.answer(desk.press(OWNER, RefundDeposit(deposit.id).pack()))  # again
    await desk.settle()
    told = await Outbox.filter(dedup_key__startswith="deposit-refund_due:").count()
    assert told == 1  # the client hears of it once


async def test_a_manager_can_neither_list_nor_refund(desk: Desk, clock):
    deposit = await _paid(clock)
    desk.say(MASHA, "/deposits")
    await desk.sees(MASHA)
    desk.press(MASHA, RefundDeposit(deposit.id).pack())  # a forged button
    await desk.settle()
    assert not any("Предоплаты (последние)" in text for text in desk.texts_to(MASHA))
    assert not any("поставлен в очередь" in text for text in desk.texts_to(MASHA))
    await deposit.refresh_from_db()
    assert deposit.status is DepositStatus.PAID
