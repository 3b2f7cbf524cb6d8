"""Deposits over real HTTP against a local YooKassa (tests/fakes/yookassa_api.py): payment
links, notifications from an allowed and a forbidden address, refunds before the cutoff, kept
after or on a no-show, the owner's refund, and the numbers the money leaves behind."""

from __future__ import annotations

import csv
import datetime as dt
import io

import aiohttp
import pytest

from bot.models import Appointment, AppointmentStatus, Outbox, StaffMember, StaffRole
from bot.numbers.deposits import deposit_figures
from bot.numbers.export import build_export
from bot.numbers.reports import weekly_text
from bot.payments.gateway import GatewayError, PaymentRequest, PaymentWork
from bot.payments.holds import release_due
from bot.payments.models import Deposit, DepositStatus
from bot.payments.staff_refunds import owner_refund, refundable
from bot.periods import Span
from bot.staffwork.access import NoAccess
from bot.staffwork.actions import RefundDeposit
from bot.staffwork.actions import unpack as staff_unpack
from bot.staffwork.lead_actions import LeadActions
from handlers.yookassa_api import YooKassa
from handlers.yookassa_webhook import PATH, PUBLISHED_RANGES, YooKassaNotifications, networks
from scenarios.actions import CancelVisit
from scenarios.types import Input
from tests import deposit_fixtures
from tests.deposit_fixtures import paid_by_link, status_of
from tests.fakes.local_server import serving
from tests.fakes.yookassa_api import SECRET, SHOP_ID, FakeYooKassa

deposit_config, paying, rig = (
    deposit_fixtures.deposit_config,
    deposit_fixtures.paying,
    deposit_fixtures.rig,
)  # the fixtures


async def test_paid_in_time_confirms_once_though_notified_twice(paying, rig, clock):
    deposit = await paid_by_link(paying, rig, clock)
    obj = {"id": deposit.payment_id, "status": "succeeded"}
    assert await rig.fake.notify(rig.url, "payment.succeeded", obj) == 200
    paid_at = clock.now()
    clock.advance(minutes=1)
    assert await rig.fake.notify(rig.url, "payment.succeeded", obj) == 200
    assert rig.fake.reads == [deposit.payment_id] * 2  # re-read each time, trusted from there
    await deposit.refresh_from_db()
    assert (deposit.status, deposit.paid_at) == (DepositStatus.PAID, paid_at)  # once
    assert (await Appointment.get(id=deposit.appointment_id)).status is AppointmentStatus.CONFIRMED
    assert await Outbox.filter(dedup_key__startswith="deposit-paid:").count() == 1


async def test_a_pending_payment_notified_as_succeeded_changes_nothing(paying, rig, clock):
    """The body says «succeeded»; the API, re-read, says pending: the API is believed."""
    deposit = await paid_by_link(paying, rig, clock)
    rig.fake.pay(deposit.payment_id, "pending")
    obj = {"id": deposit.payment_id, "status": "succeeded", "paid": True}
    assert await rig.fake.notify(rig.url, "payment.succeeded", obj) == 200
    assert await status_of(deposit) is DepositStatus.HELD


async def test_a_forbidden_sender_gets_403_and_changes_nothing(paying, rig, clock):
    deposit = await paid_by_link(paying, rig, clock)
    obj = {"id": deposit.payment_id, "status": "succeeded"}
    status = await rig.fake.notify(rig.url, "payment.succeeded", obj, source="127.0.0.2")
    assert status == 403 and rig.fake.reads == []
    await deposit.refresh_from_db()
    assert deposit.status is DepositStatus.HELD


async def test_a_notification_body_is_checked(paying, rig, clock):
    await paid_by_link(paying, rig, clock)
    assert await rig.fake.notify(rig.url, "payment.exploded", {"id": "x"}) == 400
    assert await rig.fake.notify(rig.url, "payment.succeeded", {}) == 400
    forged = {"id": "no-such-payment", "status": "succeeded"}
    assert await rig.fake.notify(rig.url, "payment.succeeded", forged) == 503  # API: 404
    assert await Deposit.filter(status=DepositStatus.PAID).count() == 0


async def test_a_cancel_before_the_cutoff_is_refunded_once(paying, rig, clock):
    deposit = await paid_by_link(paying, rig, clock)
    await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id})
    await paying.handle("test", "c1", Input.button(CancelVisit(deposit.appointment_id).pack()))
    await deposit.refresh_from_db()
    assert deposit.status is DepositStatus.REFUND_DUE
    assert await rig.work.run(clock.now()) == 1
    assert await rig.work.run(clock.now()) == 0
    [refund] = rig.fake.to("refunds")
    amount = {"value": "350.00", "currency": "RUB"}
    assert refund == {"payment_id": deposit.payment_id, "amount": amount}
    await deposit.refresh_from_db()
    assert deposit.status is DepositStatus.REFUNDED and deposit.refund_id
    obj = {"id": deposit.refund_id, "status": "succeeded"}
    assert await rig.fake.notify(rig.url, "refund.succeeded", obj) == 200  # changes nothing
    assert await Outbox.filter(dedup_key__startswith="deposit-refunded:").count() == 1


async def test_a_late_cancel_keeps_the_deposit(paying, rig, clock):
    deposit = await paid_by_link(paying, rig, clock)
    await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id})
    appointment = await Appointment.get(id=deposit.appointment_id)
    clock.set(appointment.start - dt.timedelta(hours=3))
    await paying.handle("test", "c1", Input.button(CancelVisit(deposit.appointment_id).pack()))
    await deposit.refresh_from_db()
    assert deposit.status is DepositStatus.KEPT
    assert await rig.work.run(clock.now()) == 0 and rig.fake.to("refunds") == []
    told = await Outbox.get(dedup_key=f"deposit-kept:{deposit.id}")
    assert "не возвращается" in told.payload["text"]


# --- staff: the owner's refund, a no-show ---------------------------------------------------

OWNER, MANAGER = 9001, 9002


async def test_an_owner_refunds_a_deposit_a_manager_cannot(paying, rig, clock):
    deposit = await paid_by_link(paying, rig, clock)
    await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id})
    owners = frozenset({OWNER})
    await StaffMember.create(
        telegram_id=MANAGER, role=StaffRole.MANAGER, name="Маша", created_at=clock.now()
    )
    assert [d.id for d in await refundable()] == [deposit.id]
    with pytest.raises(NoAccess):
        await owner_refund(deposit.id, MANAGER, owners, paying.texts, clock.now())
    assert await status_of(deposit) is DepositStatus.PAID
    assert await owner_refund(deposit.id, OWNER, owners, paying.texts, clock.now())
    assert not await owner_refund(deposit.id, OWNER, owners, paying.texts, clock.now())
    assert await rig.work.run(clock.now()) == 1
    assert await status_of(deposit) is DepositStatus.REFUNDED
    assert len(rig.fake.to("refunds")) == 1
    assert RefundDeposit(deposit.id).pack() == f"deprefund:{deposit.id}"
    assert staff_unpack(f"deprefund:{deposit.id}") == RefundDeposit(deposit.id)
    assert staff_unpack("deprefund:1:500") is None  # no amount rides on a button


async def test_a_no_show_keeps_the_deposit(paying, rig, clock):
    deposit = await paid_by_link(paying, rig, clock)
    await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id})
    appointment = await Appointment.get(id=deposit.appointment_id)
    clock.set(appointment.end + dt.timedelta(minutes=5))
    actions = LeadActions(paying.config, paying.texts, paying.booker, frozenset({OWNER}))
    assert await actions.record_visit(appointment.id, False, None, OWNER, clock.now())
    assert await status_of(deposit) is DepositStatus.KEPT
    assert await rig.work.run(clock.now()) == 0


# --- the owner's numbers --------------------------------------------------------------------


async def test_deposits_in_the_weekly_numbers(paying, rig, clock):
    deposit = await paid_by_link(paying, rig, clock)
    await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id})
    appointment = await Appointment.get(id=deposit.appointment_id)
    clock.set(appointment.end + dt.timedelta(minutes=5))
    actions = LeadActions(paying.config, paying.texts, paying.booker, frozenset({OWNER}))
    await actions.record_visit(appointment.id, False, None, OWNER, clock.now())
    monday = appointment.start.astimezone(paying.config.tz).date()
    monday -= dt.timedelta(days=monday.weekday())
    week = Span(monday, monday + dt.timedelta(days=6))
    figures = await deposit_figures(week.period(paying.config))
    assert (figures.taken, figures.taken_kop, figures.kept_kop) == (1, 35000, 35000)
    assert (figures.refunded, figures.no_show_with.format()) == (0, "100,0 %")
    assert figures.no_show_without.format() == "—"
    text = await weekly_text(paying.config, paying.texts, week)
    assert "Предоплаты: получено 350 ₽ (1), возвращено 0 ₽, оставлено 350 ₽" in text
    assert "Неявки: с предоплатой 100,0 %, без неё —" in text
    files = await build_export(paying.config, paying.texts, week.period(paying.config))
    rows = list(csv.reader(io.StringIO(files.appointments_csv.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["предоплата ₽", "предоплата: статус"]
    assert rows[1][-2:] == ["350", "kept"] and rows[1][8] == "no_show"


# --- the YooKassa client against the fake's protocol ----------------------------------------


def _request(key: str = "deposit-abc") -> PaymentRequest:
    return PaymentRequest(
        35000, "Предоплата", "abc", key, "Предоплата", 1, "79270000000", "https://x"
    )


async def test_the_idempotence_key_is_required_and_honoured(db):
    async with FakeYooKassa() as fake:
        gateway = YooKassa(SHOP_ID, SECRET, fake.base)
        try:
            first = await gateway.create_payment(_request())
            again = await gateway.create_payment(_request())
            other = await gateway.create_payment(_request("deposit-def"))
            assert first == again != other and len(fake.to("payments")) == 2
            with pytest.raises(GatewayError, match="401"):
                await YooKassa(SHOP_ID, "wrong", fake.base).create_payment(_request())
            async with aiohttp.ClientSession() as http:
                headers = {"Authorization": YooKassa(SHOP_ID, SECRET).headers["Authorization"]}
                async with http.post(fake.base + "/payments", json={}, headers=headers) as r:
                    assert r.status == 400 and "Idempotence-Key" in (await r.json())["description"]
        finally:
            await gateway.close()


async def test_a_proxy_header_alone_names_the_sender(paying, clock):
    work = PaymentWork(
        YooKassa(SHOP_ID, SECRET, "http://127.0.0.1:9"), paying.config, paying.texts, ""
    )
    hook = YooKassaNotifications(work, clock, networks(PUBLISHED_RANGES), "X-Real-IP")
    body = {"type": "notification", "event": "payment.succeeded", "object": {"id": "x"}}
    async with serving(hook.register) as base, aiohttp.ClientSession() as http:
        for headers, expected in (
            ({}, 403),  # 127.0.0.1 itself is not YooKassa
            ({"X-Real-IP": "10.0.0.1"}, 403),
            ({"X-Real-IP": "185.71.76.5"}, 503),  # allowed; the re-read fails: try again
        ):
            async with http.post(base + PATH, json=body, headers=headers) as response:
                assert response.status == expected
    await work.gateway.close()


async def test_money_after_the_hold_was_released_goes_back(paying, rig, clock):
    deposit = await paid_by_link(paying, rig, clock)  # paid on YooKassa's page, not yet told
    clock.advance(minutes=15)
    assert await release_due(paying.booker, paying.texts, paying.config, clock.now()) == 1
    assert await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id}) == 200
    assert await status_of(deposit) is DepositStatus.REFUND_DUE
    told = await Outbox.get(dedup_key=f"deposit-late:{deposit.id}")
    assert "Вернём деньги полностью" in told.payload["text"]
    assert await rig.work.run(clock.now()) == 1
    assert await status_of(deposit) is DepositStatus.REFUNDED
    appointment = await Appointment.get(id=deposit.appointment_id)
    assert appointment.status is AppointmentStatus.CANCELLED  # the slot stayed free


async def test_a_canceled_payment_leaves_the_hold_to_run_out(paying, rig, clock):
    deposit = await paid_by_link(paying, rig, clock)
    rig.fake.pay(deposit.payment_id, "canceled")
    assert await rig.fake.notify(rig.url, "payment.canceled", {"id": deposit.payment_id}) == 200
    assert await status_of(deposit) is DepositStatus.HELD
