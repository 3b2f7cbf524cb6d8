"""A deposit on WhatsApp, end to end over real HTTP: the booking through the webhook, the
YooKassa payment link delivered as WhatsApp shows a link, the payment notified from an
allowed address, the booking confirmed and the client told."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from bot.delivery.outbox import deliver_due
from bot.dialogs import DialogService
from bot.models import Appointment, AppointmentStatus
from bot.payments.holds import Checkout
from bot.payments.models import Deposit, DepositStatus
from handlers.yookassa_webhook import PATH
from tests.deposit_fixtures import Rig, config_data
from tests.fakes.graph_api import text_of
from tests.fakes.local_server import serving
from tests.fakes.yookassa_api import FakeYooKassa
from tests.test_whatsapp import OLGA, book
from tests.whatsapp_helpers import whatsapp_rig


@pytest.fixture
def paying(db, clock) -> DialogService:
    data = config_data(services=[{"service": "manicure", "amount": 500}])
    return DialogService(parse_config(data), clock, checkout=Checkout(yookassa=True))


async def test_a_deposit_paid_by_link_on_whatsapp(paying, clock):
    async with (
        whatsapp_rig(paying) as wa,
        FakeYooKassa() as fake,
    ):
        rig = Rig(paying, fake, clock, "127.0.0.1/32")
        async with serving(rig.hook.register) as base:
            replies = await book(wa)
            assert "внесите предоплату" in text_of(replies[-1])
            assert await rig.work.run(clock.now()) == 1
            assert await deliver_due(wa.adapter, clock) == 1
            deposit = await Deposit.get()
            link = text_of(wa.graph.to(OLGA)[-1])
            assert "Предоплата 500\u00a0₽" in link and deposit.confirmation_url in link

            fake.pay(deposit.payment_id)
            notified = await fake.notify(
                base + PATH, "payment.succeeded", {"id": deposit.payment_id}
            )
            assert notified == 200
            assert await deliver_due(wa.adapter, clock) == 1
            assert "получена — вы записаны" in text_of(wa.graph.to(OLGA)[-1])
        await rig.gateway.close()
    await deposit.refresh_from_db()
    assert deposit.status is DepositStatus.PAID
    visit = await Appointment.get(id=deposit.appointment_id)
    assert visit.status is AppointmentStatus.CONFIRMED
