"""Deposits (issue 15 item 1): the rules and the summary, the hold and its release, YooKassa
over real HTTP against a local fake (links, notifications from an allowed and a forbidden
address, refunds), and the pre-checkout re-check Telegram's payments go through."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tomllib

import aiohttp
import pytest

from bot.config import ConfigError, parse_config
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus, Outbox, StaffMember, StaffRole
from bot.numbers.deposits import deposit_figures
from bot.numbers.export import build_export
from bot.numbers.reports import weekly_text
from bot.payments.gateway import GatewayError, PaymentRequest, PaymentWork
from bot.payments.holds import Checkout, release_due
from bot.payments.models import Deposit, DepositStatus
from bot.payments.rules import Deposits, RuleKind, quote
from bot.payments.settle import Refusal, pre_checkout, record_paid
from bot.payments.staff_refunds import owner_refund, refundable
from bot.periods import Span
from bot.settings import load_settings
from bot.staffwork.access import NoAccess
from bot.staffwork.actions import RefundDeposit
from bot.staffwork.actions import unpack as staff_unpack
from bot.staffwork.lead_actions import LeadActions
from bot.startup import warnings
from handlers.yookassa_api import YooKassa
from handlers.yookassa_webhook import PATH, PUBLISHED_RANGES, YooKassaNotifications, networks
from scenarios.actions import CancelVisit, RetryHold
from scenarios.types import Input, InputKind
from tests.conftest import ROOT
from tests.fakes.local_server import serving
from tests.fakes.yookassa_api import SECRET, SHOP_ID, FakeYooKassa
from tests.test_no_double_booking import drive_to_summary

NBSP = "\u00a0"


def _data(**deposits) -> dict:
    with (ROOT / "examples" / "salon.toml").open("rb") as fh:
        data = tomllib.load(fh)
    data["deposits"] = {"services": [{"service": "brows", "percent": 50}], **deposits}
    return data


@pytest.fixture
def deposit_config():
    return parse_config(_data())


@pytest.fixture
def paying(db, deposit_config, clock) -> DialogService:
    """A client dialogue whose chat pays through YooKassa (not Telegram: channel "test")."""
    return DialogService(deposit_config, clock, checkout=Checkout(yookassa=True))


async def summary_of(dialogs: DialogService, chat: str) -> str:
    """drive_to_summary's steps (tests/test_no_double_booking.py), keeping the summary."""
    steps = ["/start", "consent:yes", "svc:brows", "addon:none", "when:tomorrow"]
    for step in steps:
        inp = Input.command("start") if step == "/start" else Input.button(step)
        replies = await dialogs.handle("test", chat, inp)
    replies = await dialogs.handle("test", chat, Input.button(replies[-1].buttons[0][0].action))
    for typed in ("+7 927 000 00 00", "Ольга"):
        replies = await dialogs.handle("test", chat, Input(InputKind.TEXT, typed))
    return replies[-1].text


async def _hold(dialogs: DialogService, chat: str = "c1") -> Deposit:
    await drive_to_summary(dialogs, chat)
    replies = await dialogs.handle("test", chat, Input.button("confirm"))
    assert "Чтобы закрепить запись, внесите предоплату" in replies[-1].text
    return await Deposit.get(chat_id=chat)


# --- rules ----------------------------------------------------------------------------------


def test_the_largest_rule_wins_and_is_named(deposit_config, clock):
    brows = deposit_config.service("brows")
    friday_evening = clock.now().replace(day=27, hour=19)
    rules = Deposits.model_validate(
        {
            "services": [{"service": "brows", "percent": 50}],
            "no_shows": {"after": 2, "amount": 400},
            "times": [{"days": ["fri", "sat"], "start": "18:00", "end": "21:00", "amount": 600}],
        }
    )
    monday = clock.now()
    assert quote(rules, brows, 70000, monday, 0).amount_kop == 35000
    assert quote(rules, brows, 70000, monday, 2).rule is RuleKind.CLIENT
    found = quote(rules, brows, 70000, friday_evening, 2)
    assert (found.amount_kop, found.rule) == (60000, RuleKind.TIME)
    assert quote(Deposits(), brows, 70000, monday, 5) is None
    assert quote(rules, brows, 20000, friday_evening, 0).amount_kop == 20000  # ≤ the price


@pytest.mark.parametrize(
    ("deposits", "key"),
    [
        ({"services": [{"service": "nails", "amount": 100}]}, "deposits.services[0].service"),
        ({"services": [{"service": "brows", "amount": 1, "percent": 5}]}, "deposits.services[0]"),
        ({"times": [{"days": ["fr"], "start": "18:00", "end": "20:00", "amount": 1}]}, "times[0]"),
        ({"hold_minutes": 0}, "deposits.hold_minutes"),
    ],
)
def test_a_bad_rule_is_refused_naming_its_key(deposits, key):
    data = _data()
    data["deposits"] = deposits
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        parse_config(data)


async def test_the_summary_shows_the_rule_and_the_refund_policy(paying):
    summary = await summary_of(paying, "c1")
    assert f"Предоплата: 350{NBSP}₽ (для этой услуги)" in summary
    assert "не позже чем за 24 ч до визита" in summary and "15 мин" in summary


async def test_without_a_way_to_pay_nothing_is_held(dialogs):
    await drive_to_summary(dialogs, "c1")
    await dialogs.handle("test", "c1", Input.button("confirm"))
    assert (await Appointment.get()).status is AppointmentStatus.PENDING
    assert await Deposit.all().count() == 0


# --- the hold -------------------------------------------------------------------------------


async def test_a_hold_occupies_the_slot_and_runs_out_unpaid(paying, clock):
    deposit = await _hold(paying)
    appointment = await Appointment.get(id=deposit.appointment_id)
    assert appointment.status is AppointmentStatus.HELD and deposit.amount_kop == 35000
    await drive_to_summary(paying, "c2")  # the same first slot is not offered again
    await paying.handle("test", "c2", Input.button("confirm"))
    second = await Appointment.exclude(id=appointment.id).get()
    assert second.start != appointment.start  # one master does brows: another time

    clock.advance(minutes=14)
    assert await release_due(paying.booker, paying.texts, paying.config, clock.now()) == 0
    clock.advance(minutes=1)
    assert await release_due(paying.booker, paying.texts, paying.config, clock.now()) == 2
    assert await release_due(paying.booker, paying.texts, paying.config, clock.now()) == 0
    await appointment.refresh_from_db()
    assert appointment.status is AppointmentStatus.CANCELLED
    told = await Outbox.get(dedup_key=f"hold-released:{deposit.id}")
    assert "время" in told.payload["text"] and "освобождено" in told.payload["text"]
    retry = told.payload["buttons"][0][0][1]
    assert retry == RetryHold(appointment.id).pack()

    again = await paying.handle("test", "c1", Input.button(retry))  # one tap: held again
    assert "Чтобы закрепить запись" in again[-1].text
    fresh = await Deposit.get(chat_id="c1", status=DepositStatus.HELD)
    assert (await Appointment.get(id=fresh.appointment_id)).start == appointment.start


async def test_a_forged_retry_books_nothing(paying):
    deposit = await _hold(paying)
    await drive_to_summary(paying, "c2")
    forged = RetryHold(deposit.appointment_id).pack()  # someone else's visit
    replies = await paying.handle("test", "c2", Input.button(forged))
    assert "Не нашёл такую запись" in replies[-1].text
    assert await Deposit.all().count() == 1


# --- Telegram's pre-checkout and successful payment (the core's side) ----------------------


async def test_pre_checkout_rechecks_the_hold_and_the_amount(paying, clock):
    deposit = await _hold(paying)
    now = clock.now()
    assert await pre_checkout(deposit.token, "RUB", 35000, now) is None
    assert await pre_checkout(deposit.token, "RUB", 100, now) is Refusal.CHANGED
    assert await pre_checkout(deposit.token, "USD", 35000, now) is Refusal.CHANGED
    assert await pre_checkout("forged-token", "RUB", 35000, now) is Refusal.UNKNOWN
    clock.advance(minutes=15)
    assert await pre_checkout(deposit.token, "RUB", 35000, clock.now()) is Refusal.EXPIRED


async def test_a_payment_confirms_once_and_keeps_both_charge_ids(paying, clock):
    deposit = await _hold(paying)
    ids = {"telegram_charge_id": "tg-charge-1", "provider_charge_id": "2f-yk-1"}
    assert await record_paid(deposit, paying.texts, clock.now(), **ids)
    assert not await record_paid(deposit, paying.texts, clock.now(), **ids)
    await deposit.refresh_from_db()
    assert (deposit.status, deposit.telegram_charge_id, deposit.provider_charge_id) == (
        DepositStatus.PAID,
        "tg-charge-1",
        "2f-yk-1",
    )
    assert deposit.payment_id == "2f-yk-1"  # refunds go to YooKassa by this id
    appointment = await Appointment.get(id=deposit.appointment_id)
    assert (appointment.status, appointment.paid_kop) == (AppointmentStatus.CONFIRMED, 35000)
    assert await Outbox.filter(dedup_key=f"deposit-paid:{deposit.id}").count() == 1


# --- YooKassa over HTTP ---------------------------------------------------------------------


class Rig:
    """The fake YooKassa, the product's notification endpoint, and the payment work."""

    def __init__(self, dialogs: DialogService, fake: FakeYooKassa, clock, allowed: str) -> None:
        self.gateway = YooKassa(SHOP_ID, SECRET, fake.base)
        self.work = PaymentWork(self.gateway, dialogs.config, dialogs.texts, "https://salon.ru")
        self.hook = YooKassaNotifications(self.work, clock, networks([allowed]))


@pytest.fixture
async def rig(paying, clock):
    async with FakeYooKassa() as fake:
        rig = Rig(paying, fake, clock, "127.0.0.1/32")
        async with serving(rig.hook.register) as base:
            rig.fake, rig.url = fake, base + PATH
            yield rig
        await rig.gateway.close()


async def _paid_by_link(paying, rig, clock) -> Deposit:
    deposit = await _hold(paying)
    assert await rig.work.run(clock.now()) == 1
    assert await rig.work.run(clock.now()) == 0  # one payment per hold
    body = rig.fake.to("payments")[0]
    assert body["amount"] == {"value": "350.00", "currency": "RUB"}
    assert body["receipt"]["customer"] == {"phone": "79270000000"}
    assert body["receipt"]["items"][0]["vat_code"] == 1
    await deposit.refresh_from_db()
    link = await Outbox.get(dedup_key=f"pay-link:{deposit.id}")
    assert link.payload["buttons"][0][0][2] == deposit.confirmation_url
    rig.fake.pay(deposit.payment_id)
    return deposit


async def test_paid_in_time_confirms_once_though_notified_twice(paying, rig, clock):
    deposit = await _paid_by_link(paying, rig, clock)
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
    deposit = await _paid_by_link(paying, rig, clock)
    rig.fake.pay(deposit.payment_id, "pending")
    obj = {"id": deposit.payment_id, "status": "succeeded", "paid": True}
    assert await rig.fake.notify(rig.url, "payment.succeeded", obj) == 200
    assert await _status(deposit) is DepositStatus.HELD


async def test_a_forbidden_sender_gets_403_and_changes_nothing(paying, rig, clock):
    deposit = await _paid_by_link(paying, rig, clock)
    obj = {"id": deposit.payment_id, "status": "succeeded"}
    status = await rig.fake.notify(rig.url, "payment.succeeded", obj, source="127.0.0.2")
    assert status == 403 and rig.fake.reads == []
    await deposit.refresh_from_db()
    assert deposit.status is DepositStatus.HELD


async def test_a_notification_body_is_checked(paying, rig, clock):
    await _paid_by_link(paying, rig, clock)
    assert await rig.fake.notify(rig.url, "payment.exploded", {"id": "x"}) == 400
    assert await rig.fake.notify(rig.url, "payment.succeeded", {}) == 400
    forged = {"id": "no-such-payment", "status": "succeeded"}
    assert await rig.fake.notify(rig.url, "payment.succeeded", forged) == 503  # API: 404
    assert await Deposit.filter(status=DepositStatus.PAID).count() == 0


async def test_a_cancel_before_the_cutoff_is_refunded_once(paying, rig, clock):
    deposit = await _paid_by_link(paying, rig, clock)
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
    deposit = await _paid_by_link(paying, rig, clock)
    await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id})
    appointment = await Appointment.get(id=deposit.appointment_id)
    clock.set(appointment.start - dt.timedelta(hours=3))
    await paying.handle("test", "c1", Input.button(CancelVisit(deposit.appointment_id).pack()))
    await deposit.refresh_from_db()
    assert deposit.status is DepositStatus.KEPT
    assert await rig.work.run(clock.now()) == 0 and rig.fake.to("refunds") == []
    told = await Outbox.get(dedup_key=f"deposit-kept:{deposit.id}")
    assert "не возвращается" in told.payload["text"]


def test_the_payments_catalog_has_every_key_in_english_too():
    ru, en = Texts("ru").keys(), Texts("en").keys()
    ours = {k for k in ru if k.startswith("payments.")}
    assert ours and ours == {k for k in en if k.startswith("payments.")}


# --- staff: the owner's refund, a no-show ---------------------------------------------------

OWNER, MANAGER = 9001, 9002


async def test_an_owner_refunds_a_deposit_a_manager_cannot(paying, rig, clock):
    deposit = await _paid_by_link(paying, rig, clock)
    await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id})
    owners = frozenset({OWNER})
    await StaffMember.create(
        telegram_id=MANAGER, role=StaffRole.MANAGER, name="Маша", created_at=clock.now()
    )
    assert [d.id for d in await refundable()] == [deposit.id]
    with pytest.raises(NoAccess):
        await owner_refund(deposit.id, MANAGER, owners, paying.texts, clock.now())
    assert await _status(deposit) is DepositStatus.PAID
    assert await owner_refund(deposit.id, OWNER, owners, paying.texts, clock.now())
    assert not await owner_refund(deposit.id, OWNER, owners, paying.texts, clock.now())
    assert await rig.work.run(clock.now()) == 1
    assert await _status(deposit) is DepositStatus.REFUNDED
    assert len(rig.fake.to("refunds")) == 1
    assert RefundDeposit(deposit.id).pack() == f"deprefund:{deposit.id}"
    assert staff_unpack(f"deprefund:{deposit.id}") == RefundDeposit(deposit.id)
    assert staff_unpack("deprefund:1:500") is None  # no amount rides on a button


async def test_a_no_show_keeps_the_deposit(paying, rig, clock):
    deposit = await _paid_by_link(paying, rig, clock)
    await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id})
    appointment = await Appointment.get(id=deposit.appointment_id)
    clock.set(appointment.end + dt.timedelta(minutes=5))
    actions = LeadActions(paying.config, paying.texts, paying.booker, frozenset({OWNER}))
    assert await actions.record_visit(appointment.id, False, None, OWNER, clock.now())
    assert await _status(deposit) is DepositStatus.KEPT
    assert await rig.work.run(clock.now()) == 0


async def _status(deposit: Deposit) -> DepositStatus:
    await deposit.refresh_from_db()
    return deposit.status


# --- the owner's numbers --------------------------------------------------------------------


async def test_deposits_in_the_weekly_numbers(paying, rig, clock):
    deposit = await _paid_by_link(paying, rig, clock)
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


# --- migration 8 on PostgreSQL ---------------------------------------------------------------

from tests.test_postgres import pg  # noqa: E402  (the fixture: a migrated schema)

__all__ = ["pg"]


async def test_deposits_on_postgresql(pg, deposit_config, clock):
    """The deposit table in PostgreSQL's dialect: a hold, a payment, the numbers' SQL."""
    dialogs = DialogService(deposit_config, clock, checkout=Checkout(yookassa=True))
    deposit = await _hold(dialogs)
    assert await pre_checkout(deposit.token, "RUB", 35000, clock.now()) is None
    assert await record_paid(deposit, dialogs.texts, clock.now(), payment_id="2f-pg-1")
    assert not await record_paid(deposit, dialogs.texts, clock.now(), payment_id="2f-pg-1")
    day = clock.now().astimezone(deposit_config.tz).date()
    figures = await deposit_figures(Span(day, day).period(deposit_config))
    assert (figures.taken, figures.taken_kop) == (1, 35000)
    clock.advance(minutes=30)
    assert await release_due(dialogs.booker, dialogs.texts, deposit_config, clock.now()) == 0


async def test_erasure_leaves_no_chat_id_on_a_deposit(paying, clock):
    deposit = await _hold(paying)
    await paying.handle("test", "c1", Input.command("forget"))
    await paying.handle("test", "c1", Input.button("forget:yes"))
    await deposit.refresh_from_db()
    assert deposit.chat_id != "c1"


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


def test_a_half_set_up_shop_is_warned_of(config):
    half = load_settings(yookassa_shop_id="123456", public_base_url="https://bot.example")
    assert any("go together" in w for w in warnings(half, config))
    whole = load_settings(yookassa_shop_id="1", yookassa_secret_key="s", public_base_url="")
    assert any("nowhere to send the client back" in w for w in warnings(whole, config))


async def test_money_after_the_hold_was_released_goes_back(paying, rig, clock):
    deposit = await _paid_by_link(paying, rig, clock)  # paid on YooKassa's page, not yet told
    clock.advance(minutes=15)
    assert await release_due(paying.booker, paying.texts, paying.config, clock.now()) == 1
    assert await rig.fake.notify(rig.url, "payment.succeeded", {"id": deposit.payment_id}) == 200
    assert await _status(deposit) is DepositStatus.REFUND_DUE
    told = await Outbox.get(dedup_key=f"deposit-late:{deposit.id}")
    assert "Вернём деньги полностью" in told.payload["text"]
    assert await rig.work.run(clock.now()) == 1
    assert await _status(deposit) is DepositStatus.REFUNDED
    appointment = await Appointment.get(id=deposit.appointment_id)
    assert appointment.status is AppointmentStatus.CANCELLED  # the slot stayed free


async def test_a_canceled_payment_leaves_the_hold_to_run_out(paying, rig, clock):
    deposit = await _paid_by_link(paying, rig, clock)
    rig.fake.pay(deposit.payment_id, "canceled")
    assert await rig.fake.notify(rig.url, "payment.canceled", {"id": deposit.payment_id}) == 200
    assert await _status(deposit) is DepositStatus.HELD
