"""Deposits (issue 15 item 1): the rules and the summary, the hold and its release, the
pre-checkout re-check Telegram's payments go through, migration 8 on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import ConfigError, parse_config
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.models import Appointment, AppointmentStatus, Client, Outbox
from bot.numbers.deposits import deposit_figures
from bot.payments.holds import Checkout, release_due
from bot.payments.models import Deposit, DepositStatus
from bot.payments.rules import Deposits, RuleKind, quote
from bot.payments.settle import Refusal, pre_checkout, record_paid
from bot.periods import Span
from bot.settings import load_settings
from bot.startup import warnings
from bot.waitlist_models import WaitlistEntry
from scenarios.actions import RetryHold
from scenarios.types import Input
from tests import deposit_fixtures
from tests.deposit_fixtures import config_data, hold, summary_of
from tests.test_no_double_booking import drive_to_summary
from tests.waitlist_helpers import offers_to

NBSP = "\u00a0"
deposit_config, paying = deposit_fixtures.deposit_config, deposit_fixtures.paying  # fixtures


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
    data = config_data()
    data["deposits"] = deposits
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        parse_config(data)


async def test_the_summary_shows_the_rule_and_the_refund_policy(paying):
    summary = await summary_of(paying, "c1")
    assert f"Предоплата: 350{NBSP}₽ (для этой услуги)" in summary
    assert "не позже чем за 24 ч до визита" in summary and "15 мин" in summary


async def test_the_summary_names_the_time_and_the_client_rules(db, clock):
    evenings = {"days": ["tue"], "start": "00:00", "end": "23:55", "amount": 400}
    data = config_data(times=[evenings], refund_cutoff_hours=48, hold_minutes=20)
    dialogs = DialogService(parse_config(data), clock, checkout=Checkout(yookassa=True))
    summary = await summary_of(dialogs, "c1")  # tomorrow is a Tuesday
    assert f"Предоплата: 400{NBSP}₽ (для этого времени)" in summary
    assert "за 48 ч до визита" in summary and "20 мин" in summary

    data = config_data(no_shows={"after": 1, "percent": 100})
    dialogs = DialogService(parse_config(data), clock, checkout=Checkout(yookassa=True))
    client = await Client.create(channel="test", channel_user_id="c2", created_at=clock.now())
    await Appointment.create(  # one no-show on record: every booking needs a deposit now
        client=client,
        service_id="brows",
        master_id="olga",
        start=clock.now(),
        end=clock.now(),
        price_kop=70000,
        status=AppointmentStatus.NO_SHOW,
        created_at=clock.now(),
    )
    summary = await summary_of(dialogs, "c2")
    assert f"Предоплата: 700{NBSP}₽ (для записей после пропущенных визитов)" in summary


async def test_without_a_way_to_pay_nothing_is_held(dialogs):
    await drive_to_summary(dialogs, "c1")
    await dialogs.handle("test", "c1", Input.button("confirm"))
    assert (await Appointment.get()).status is AppointmentStatus.PENDING
    assert await Deposit.all().count() == 0


# --- the hold -------------------------------------------------------------------------------


async def test_a_hold_occupies_the_slot_and_runs_out_unpaid(paying, clock):
    deposit = await hold(paying)
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


async def test_a_released_hold_offers_its_time_to_the_waitlist(paying, clock):
    deposit = await hold(paying)
    visit = await Appointment.get(id=deposit.appointment_id)
    now, day = clock.now(), visit.start.astimezone(paying.config.tz).date()
    waiting = await Client.create(channel="test", channel_user_id="w1", created_at=now)
    await WaitlistEntry.create(
        client_id=waiting.id,
        service_id=visit.service_id,
        day_from=day,
        day_to=day,
        created_at=now,
        expires_at=now + dt.timedelta(days=14),
    )
    clock.advance(minutes=15)
    assert await release_due(paying.booker, paying.texts, paying.config, clock.now()) == 1
    assert len(await offers_to("w1")) == 1  # the unpaid time goes down the line at once


async def test_a_forged_retry_books_nothing(paying):
    deposit = await hold(paying)
    await drive_to_summary(paying, "c2")
    forged = RetryHold(deposit.appointment_id).pack()  # someone else's visit
    replies = await paying.handle("test", "c2", Input.button(forged))
    assert "Не нашёл такую запись" in replies[-1].text
    assert await Deposit.all().count() == 1


# --- Telegram's pre-checkout and successful payment (the core's side) ----------------------


async def test_pre_checkout_rechecks_the_hold_and_the_amount(paying, clock):
    deposit = await hold(paying)
    now = clock.now()
    assert await pre_checkout(deposit.token, "RUB", 35000, now) is None
    assert await pre_checkout(deposit.token, "RUB", 100, now) is Refusal.CHANGED
    assert await pre_checkout(deposit.token, "USD", 35000, now) is Refusal.CHANGED
    assert await pre_checkout("forged-token", "RUB", 35000, now) is Refusal.UNKNOWN
    clock.advance(minutes=15)
    assert await pre_checkout(deposit.token, "RUB", 35000, clock.now()) is Refusal.EXPIRED


async def test_a_payment_confirms_once_and_keeps_both_charge_ids(paying, clock):
    deposit = await hold(paying)
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


def test_the_payments_catalog_has_every_key_in_english_too():
    ru, en = Texts("ru").keys(), Texts("en").keys()
    ours = {k for k in ru if k.startswith("payments.")}
    assert ours and ours == {k for k in en if k.startswith("payments.")}


# --- migration 8 on PostgreSQL ---------------------------------------------------------------

from tests.test_postgres import pg  # noqa: E402  (the fixture: a migrated schema)

__all__ = ["pg"]


async def test_deposits_on_postgresql(pg, deposit_config, clock):
    """The deposit table in PostgreSQL's dialect: a hold, a payment, the numbers' SQL."""
    dialogs = DialogService(deposit_config, clock, checkout=Checkout(yookassa=True))
    deposit = await hold(dialogs)
    assert await pre_checkout(deposit.token, "RUB", 35000, clock.now()) is None
    assert await record_paid(deposit, dialogs.texts, clock.now(), payment_id="2f-pg-1")
    assert not await record_paid(deposit, dialogs.texts, clock.now(), payment_id="2f-pg-1")
    day = clock.now().astimezone(deposit_config.tz).date()
    figures = await deposit_figures(Span(day, day).period(deposit_config))
    assert (figures.taken, figures.taken_kop) == (1, 35000)
    clock.advance(minutes=30)
    assert await release_due(dialogs.booker, dialogs.texts, deposit_config, clock.now()) == 0


async def test_erasure_leaves_no_chat_id_on_a_deposit(paying, clock):
    deposit = await hold(paying)
    await paying.handle("test", "c1", Input.command("forget"))
    await paying.handle("test", "c1", Input.button("forget:yes"))
    await deposit.refresh_from_db()
    assert deposit.chat_id != "c1"


def test_a_half_set_up_shop_is_warned_of(config):
    half = load_settings(yookassa_shop_id="123456", public_base_url="https://bot.example")
    assert any("go together" in w for w in warnings(half, config))
    whole = load_settings(yookassa_shop_id="1", yookassa_secret_key="s", public_base_url="")
    assert any("nowhere to send the client back" in w for w in warnings(whole, config))
