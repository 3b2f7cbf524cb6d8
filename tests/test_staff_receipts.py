"""A staff update whose change committed is not handled again, even when the process died
before anything else was recorded (issue 16): the receipt of a typed amount, a typed lost
reason, a catalog value and an /invite commits in the change's own transaction
(bot.staffwork.receipt), so Telegram's redelivery is skipped. Before, the receipt was
written after the handler returned, and a redelivered answer, its question used up, was
relayed to the client.

Both bots over the fake Bot API; "died before the receipt" is the middleware's own insert
after the handler failing (admin_bot.receipts.record_receipt); then the same update is
delivered again, to another instance (the load balancer's choice, or the next process).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from admin_bot import receipts
from admin_bot.context import StaffContext
from bot.app import build_staff_dispatcher
from bot.delivery.channel import ChannelSet
from bot.models import Appointment, InboundMessage, Invite, Lead, LeadEvent, StaffAwaiting
from bot.settings import load_settings
from bot.staff_models import CatalogAudit
from bot.staffwork import receipt as staff_receipt
from bot.staffwork.receipt import AlreadyHandled, pending, write_transaction
from handlers.registry import ChannelDeps, build_channels
from handlers.telegram_answers import LateAnswers
from tests import staff_fixtures
from tests.fakes.bot_api import FakeUser
from tests.staff_fixtures import KSENIA, MASHA, OWNER, PETYA, STAFF, Desk
from tests.test_catalog_edit import open_service

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures
NO_DIALOG = "Нет открытого диалога"  # what a typed message with nowhere to go is told


@contextlib.contextmanager
def receipt_lost() -> Iterator[None]:
    """The middleware's insert after the handler fails, as if the process died there."""

    async def died(*args: object) -> bool:
        raise RuntimeError("killed before the receipt")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(receipts, "record_receipt", died)
        yield


def client_texts(desk: Desk) -> list[str]:
    return [m.get("text") or "" for m in desk.api.sent(staff_fixtures.CLIENT, KSENIA.id)]


async def delivered_again(desk: Desk, update: dict) -> None:
    """The same update to another instance of the staff bot, on the same database."""
    client_bot = desk.api.make_bot(staff_fixtures.CLIENT, parse_mode=None)
    staff_bot = desk.api.make_bot(STAFF, parse_mode=None)
    staff_bot.session.middleware(LateAnswers())  # as the product's session: a press answered
    staff = StaffContext.create(desk.config, desk.clock, [OWNER.id], client_bot)
    settings = load_settings(bot_token=staff_fixtures.CLIENT, staff_bot_token=STAFF)
    deps = ChannelDeps(staff.texts, desk.clock, bots={"client": client_bot, "staff": staff_bot})
    staff.extra["outbox"] = ChannelSet(build_channels(settings, deps))
    try:
        await build_staff_dispatcher(staff).feed_raw_update(staff_bot, copy.deepcopy(update))
    finally:
        await client_bot.session.close()
        await staff_bot.session.close()


async def handled_receipt_lost(
    desk: Desk, user: FakeUser, send: Callable[[], dict], answer: str
) -> dict:
    """`send`'s update handled (the staff member sees `answer`), its receipt lost after."""
    with receipt_lost():
        update = send()
        await desk.sees(user, answer)
        await desk.settle()
    return update


async def delivered_again_says_nothing(desk: Desk, user: FakeUser, update: dict) -> None:
    """The redelivery's instance tells `user` nothing more."""
    said = list(desk.texts_to(user))
    await delivered_again(desk, update)
    assert desk.texts_to(user) == said


async def holding(desk: Desk) -> Appointment:
    """Маша took Ксения's lead (her dialogue is open: Маша's typed words go to Ксения)."""
    visit = await desk.book()
    desk.tap(MASHA, "✋ Взять", await desk.card(MASHA))
    await desk.client_gets("подключился")
    return visit


async def test_a_typed_lost_reason_delivered_again_is_not_relayed(desk: Desk):
    visit = await holding(desk)
    desk.tap(MASHA, "Потерян", await desk.card(MASHA))
    desk.tap(MASHA, "другое", await desk.sees(MASHA, "Почему заявка #1 потеряна"))
    await desk.sees(MASHA, "Напишите причину")
    update = await handled_receipt_lost(
        desk,
        MASHA,
        lambda: desk.api.send_text(STAFF, MASHA, "уезжает в отпуск"),
        "отмечена как потерянная: уезжает в отпуск",
    )
    await delivered_again(desk, update)
    assert not [t for t in client_texts(desk) if "уезжает в отпуск" in t]
    assert not [t for t in desk.texts_to(MASHA) if NO_DIALOG in t]
    assert await LeadEvent.filter(lead_id=visit.lead_id, to_status="lost").count() == 1
    assert await StaffAwaiting.all().count() == 0


async def test_a_typed_amount_delivered_again_is_recorded_once_and_not_relayed(desk: Desk):
    visit = await holding(desk)
    desk.clock.set(visit.end + dt.timedelta(minutes=1))
    desk.press(MASHA, f"came:{visit.id}")
    await desk.sees(MASHA, "Сколько оплачено?")
    update = await handled_receipt_lost(
        desk, MASHA, lambda: desk.api.send_text(STAFF, MASHA, "1700"), "оплачено 1\u00a0700\u00a0₽"
    )
    await delivered_again(desk, update)
    assert not [t for t in client_texts(desk) if "1700" in t]
    assert sum("оплачено 1\u00a0700" in t for t in desk.texts_to(MASHA)) == 1
    visit = await Appointment.get(id=visit.id)
    assert (visit.status, visit.paid_kop) == ("came", 170000)
    assert await LeadEvent.filter(lead_id=visit.lead_id, to_status="came").count() == 1


async def test_a_catalog_value_delivered_again_is_not_taken_for_a_message(desk: Desk):
    await open_service(desk)
    desk.tap(OWNER, "Цена")
    await desk.sees(OWNER, "Новая")
    update = await handled_receipt_lost(
        desk, OWNER, lambda: desk.api.send_text(STAFF, OWNER, "1700"), "1\u00a0700\u00a0₽"
    )
    await delivered_again_says_nothing(desk, OWNER, update)
    assert await CatalogAudit.all().count() == 1


async def test_an_invite_delivered_again_makes_one_link(desk: Desk):
    update = await handled_receipt_lost(
        desk, OWNER, lambda: desk.api.send_command(STAFF, OWNER, "/invite", "manager"), "t.me/"
    )
    await delivered_again(desk, update)
    assert await Invite.all().count() == 1
    assert sum("t.me/" in t for t in desk.texts_to(OWNER)) == 1


async def test_a_call_outcome_delivered_again_is_recorded_once(desk: Desk):
    """«Перезвонил» → how it ended: one "called" event however often the press arrives."""
    visit = await holding(desk)
    update = await handled_receipt_lost(
        desk, MASHA, lambda: desk.press(MASHA, f"co:{visit.lead_id}:later"), "записано"
    )
    await delivered_again(desk, update)
    assert await LeadEvent.filter(lead_id=visit.lead_id, kind="called").count() == 1


async def test_a_read_only_command_is_still_recorded_after_its_handler(desk: Desk):
    """No transaction took its receipt: the middleware writes it (and skips a redelivery)."""
    update = desk.api.send_command(STAFF, OWNER, "/team")
    await desk.sees(OWNER)
    await desk.settle()
    await delivered_again_says_nothing(desk, OWNER, update)
    assert await InboundMessage.exists(message_id=f"222222:{update['update_id']}")


async def test_a_duplicate_in_the_transaction_rolls_the_change_back(db, clock):
    """Another instance committed the same update meanwhile (its look before came too
    early): the receipt's unique key undoes this change and says it was handled."""
    now = clock.now()
    await InboundMessage.create(channel="telegram", chat_id="1", message_id="9:1", at=now)
    with pending("telegram", "1", "9:1", now) as item, pytest.raises(AlreadyHandled):
        async with write_transaction():
            await StaffAwaiting.create(telegram_id=1, what="amount", ref=1, at=now)
    assert not item.taken
    assert await StaffAwaiting.all().count() == 0
    with pending("telegram", "1", "9:2", now) as item:
        async with write_transaction(), write_transaction():  # the inner one writes it not
            await StaffAwaiting.create(telegram_id=1, what="amount", ref=1, at=now)
        assert item.taken
    assert await InboundMessage.filter(message_id="9:2").count() == 1
    assert staff_receipt._PENDING.get() is None


async def test_a_refused_answer_uses_the_question_up_with_its_receipt(desk: Desk):
    """Another manager holds the lead by the time Маша types the reason: she is told so,
    the question is gone (her next words are not refused again), nothing changed, and a
    redelivery is not refused a second time."""
    visit = await holding(desk)
    desk.tap(MASHA, "Потерян", await desk.card(MASHA))
    desk.tap(MASHA, "другое", await desk.sees(MASHA, "Почему заявка #1 потеряна"))
    await desk.sees(MASHA, "Напишите причину")
    await Lead.filter(id=visit.lead_id).update(manager_id=PETYA.id)
    update = await handled_receipt_lost(
        desk,
        MASHA,
        lambda: desk.api.send_text(STAFF, MASHA, "уезжает в отпуск"),
        "закреплена за другим сотрудником (Петя)",
    )
    await delivered_again_says_nothing(desk, MASHA, update)
    assert await StaffAwaiting.all().count() == 0
    assert (await Lead.get(id=visit.lead_id)).status != "lost"
    assert await InboundMessage.exists(message_id=f"222222:{update['update_id']}")
