"""Shared by the deposit tests: a config with a deposit rule, a dialogue that pays through
YooKassa, and the fake YooKassa wired to the product's notification endpoint."""

from __future__ import annotations

import tomllib

import pytest

from bot.config import parse_config
from bot.dialogs import DialogService
from bot.models import Outbox
from bot.payments.gateway import PaymentWork
from bot.payments.holds import Checkout
from bot.payments.models import Deposit, DepositStatus
from handlers.yookassa_api import YooKassa
from handlers.yookassa_webhook import PATH, YooKassaNotifications, networks
from scenarios.types import Input, InputKind
from tests.conftest import ROOT
from tests.fakes.local_server import serving
from tests.fakes.yookassa_api import SECRET, SHOP_ID, FakeYooKassa
from tests.test_no_double_booking import drive_to_summary


def config_data(**deposits) -> dict:
    with (ROOT / "examples" / "salon.toml").open("rb") as fh:
        data = tomllib.load(fh)
    data["deposits"] = {"services": [{"service": "brows", "percent": 50}], **deposits}
    return data


@pytest.fixture
def deposit_config():
    return parse_config(config_data())


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


async def hold(dialogs: DialogService, chat: str = "c1") -> Deposit:
    await drive_to_summary(dialogs, chat)
    replies = await dialogs.handle("test", chat, Input.button("confirm"))
    assert "Чтобы закрепить запись, внесите предоплату" in replies[-1].text
    return await Deposit.get(chat_id=chat)


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


async def paid_by_link(paying, rig, clock) -> Deposit:
    deposit = await hold(paying)
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


async def status_of(deposit: Deposit) -> DepositStatus:
    await deposit.refresh_from_db()
    return deposit.status
