"""The confirm step and the sends after it in prepared SQL (issue 16 item 6): the same rows
and guarantees as through the ORM, in fewer round trips. Every test takes the database
fixture it runs on: tests/test_postgres_confirm.py runs them on PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from tortoise.transactions import in_transaction

from bot import dialog_store
from bot.booking.booker import Booker, cells_of
from bot.booking.slots import Slot
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.delivery.outbox import RetryLater, deliver_now
from bot.delivery.step_outbox import queue_replies
from bot.dialogs import DialogService
from bot.models import (
    Appointment,
    Client,
    Conversation,
    Lead,
    MasterCell,
    MessageLog,
    Outbox,
    OutboxStatus,
)
from scenarios.state import Step
from scenarios.types import Input, InputKind, Reply
from tests.dialog_chat import CHANNEL, TUE_10, Chat, reach, status_events
from tests.test_step_commit import count_round_trips

ANNA = "anna"


class Sender:
    """A channel that accepts every row (message ids 7001, 7002, …) or refuses one."""

    def __init__(self, refuse: int | None = None) -> None:
        self.sent: list[int] = []
        self.refuse = refuse

    async def send(self, row: Outbox) -> int:
        if row.id == self.refuse:
            raise RetryLater(0, "a 502 from the channel")
        self.sent.append(row.id)
        return 7000 + len(self.sent)


class Rollback(Exception):
    pass


def manicure_at_10(config: BusinessConfig) -> tuple[Slot, object]:
    service = config.service("manicure")
    assert service is not None
    end = TUE_10 + dt.timedelta(minutes=service.duration)
    return Slot(TUE_10, end, ANNA), service


async def queued_rows(chat_id: str, count: int, now: dt.datetime) -> list[Outbox]:
    conv = await Conversation.create(channel=CHANNEL, chat_id=chat_id, updated_at=now, state={})
    replies = [Reply(f"ответ {i}") for i in range(count)]
    async with in_transaction():
        return await queue_replies(conv, replies, now, chat_id)


async def test_a_lost_race_at_the_cells_leaves_nothing_and_the_step_goes_on(
    db, config: BusinessConfig, clock: FakeClock
):
    """The cells refuse the second booking (the database decides, whatever the cache said);
    its visit is rolled back to the savepoint and the transaction goes on."""
    booker = Booker(config, clock)
    slot, service = manicure_at_10(config)
    first = await booker.book(slot, service, [], None, None)
    assert first is not None and first.id is not None
    async with in_transaction():
        lost = await booker.book(slot, service, [], None, None, checked=True)  # a stale cache
        later = await Client.create(
            channel=CHANNEL, channel_user_id="after", created_at=clock.now()
        )
    assert lost is None
    assert await Client.exists(id=later.id)  # the step's other writes stay
    assert await Appointment.all().values_list("id", flat=True) == [first.id]
    held = await MasterCell.filter(appointment_id=first.id).count()
    assert held == await MasterCell.all().count() > 0


async def test_a_booking_writes_its_visit_and_cells_as_the_orm_did(
    db, config: BusinessConfig, clock: FakeClock
):
    booker = Booker(config, clock)
    slot, service = manicure_at_10(config)
    booked = await booker.book(slot, service, [], None, None)
    assert booked is not None
    stored = await Appointment.get(id=booked.id)
    assert (stored.master_id, stored.start, stored.end, stored.status, stored.addon_ids) == (
        ANNA,
        TUE_10,
        slot.end,
        booked.status,
        [],
    )
    assert (stored.price_kop, stored.created_at) == (booked.price_kop, clock.now())
    cells = await MasterCell.filter(appointment_id=booked.id).order_by("cell")
    _, held_until = booked.start, slot.end + dt.timedelta(minutes=config.booking.buffer_minutes)
    assert [(c.master_id, c.cell) for c in cells] == cells_of(ANNA, slot.start, held_until)


async def test_the_versioned_save_writes_all_or_nothing(db, clock: FakeClock):
    """Within the step's transaction: a stale version writes no log row, the right one both."""
    now = clock.now()
    conv = await Conversation.create(channel=CHANNEL, chat_id="v1", updated_at=now, state={})
    log = MessageLog(channel=CHANNEL, chat_id="v1", direction="in", author="client", kind="text")
    log.text, log.at = "привет", now
    with pytest.raises(Rollback):
        async with in_transaction():
            assert not await dialog_store.save(conv, conv.version + 1, {"step": "x"}, now, [log])
            raise Rollback
    assert await MessageLog.filter(chat_id="v1").count() == 0
    async with in_transaction():
        assert await dialog_store.save(conv, conv.version, {"step": "x"}, now, [log])
    saved = await Conversation.get(id=conv.id)
    assert (saved.version, saved.state, saved.updated_at) == (conv.version + 1, {"step": "x"}, now)
    assert await MessageLog.filter(chat_id="v1").values_list("text", flat=True) == ["привет"]


async def test_the_sends_are_recorded_each_with_its_own_message_id(db, clock: FakeClock):
    rows = await queued_rows("s1", 3, clock.now())
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert len({r.id for r in rows}) == 3
    sender = Sender()
    assert await deliver_now(rows, sender, clock) == 3
    stored = await Outbox.filter(chat_id="s1").order_by("id")
    assert [(r.status, r.message_id, r.attempts, r.locked_until) for r in stored] == [
        (OutboxStatus.SENT, 7001, 1, None),
        (OutboxStatus.SENT, 7002, 1, None),
        (OutboxStatus.SENT, 7003, 1, None),
    ]
    assert {r.sent_at for r in stored} == {clock.now()}
    assert [r.payload["text"] for r in stored] == ["ответ 0", "ответ 1", "ответ 2"]


async def test_a_refused_send_keeps_the_earlier_sent_and_the_later_waiting(db, clock: FakeClock):
    rows = await queued_rows("s2", 3, clock.now())
    assert await deliver_now(rows, Sender(refuse=rows[1].id), clock) == 1
    first, failed, later = await Outbox.filter(chat_id="s2").order_by("id")
    assert (first.status, first.message_id) == (OutboxStatus.SENT, 7001)
    assert (failed.status, failed.attempts) == (OutboxStatus.PENDING, 1)
    assert (later.status, later.locked_until, later.due_at) == (
        OutboxStatus.PENDING,
        None,
        failed.due_at,
    )


async def test_a_step_queued_twice_for_one_version_clashes(db, clock: FakeClock):
    """The reply's key is the conversation's version: a second writer of that version fails
    (the step is then stale and runs again), and the first one's rows stay as they were."""
    from tortoise.exceptions import IntegrityError

    rows = await queued_rows("s3", 2, clock.now())
    conv = await Conversation.get(chat_id="s3")
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await queue_replies(conv, [Reply("другой")], clock.now(), "s3")
    assert await Outbox.filter(chat_id="s3").values_list("id", flat=True) == [r.id for r in rows]


async def test_a_confirm_through_the_outbox_books_and_sends(db, config, clock: FakeClock):
    """The whole confirm step with every reply through the outbox (a webhook channel)."""
    dialogs = DialogService(config, clock)
    sender = Sender()
    chat = Chat(dialogs, 601, "Ольга")
    await reach(chat, Step.SUMMARY)
    confirm = Input(InputKind.BUTTON, "confirm", name="Ольга")
    replies = await dialogs.handle(CHANNEL, "601", confirm, sender=sender)
    assert "Заявка принята" in replies[-1].text
    visit = await Appointment.get()
    lead = await Lead.get(id=visit.lead_id)
    assert await status_events(lead) == [(None, "new"), ("new", "qualified")]
    sent = await Outbox.filter(kind="reply").order_by("id")
    assert [r.id for r in sent] == sender.sent and sent
    assert {r.status for r in sent} == {OutboxStatus.SENT}
    assert (await Client.get(id=visit.client_id)).phone == "+79271234567"


async def test_a_confirm_the_snapshot_shows_taken_reads_nothing_more(
    db, config: BusinessConfig, clock: FakeClock
):
    """Most confirms under load find their slot gone: the step's snapshot tells, so neither
    the lead nor the client is read, nothing is booked, and the client gets the slot list."""
    dialogs = DialogService(config, clock)
    first, second = Chat(dialogs, 701, "Ольга"), Chat(dialogs, 702, "Анна")
    await reach(first, Step.SUMMARY)
    await reach(second, Step.SUMMARY)  # the same slot: Anna, Tuesday 10:00
    await first.press("confirm")
    calls: list[str] = []
    restore = count_round_trips(calls)
    try:
        replies = await second.press("confirm")
    finally:
        restore()
    assert replies[0].text == dialogs.texts("slot_taken")
    assert (await second.state()).step == Step.SLOT
    assert await Appointment.all().count() == 1
    lead = await second.lead()
    assert await status_events(lead) == [(None, "new")]
    # BEGIN, the contact, the log rows with the update and COMMIT (the counters and Anna's
    # times are read before, outside the transaction); 10 before the lead and the client
    # were read for a booking that could not happen, 7 while the refusal was decided inside
    assert len(calls) <= 3, calls


async def test_a_repeat_confirm_the_snapshot_refuses_writes_only_itself(
    db, config: BusinessConfig, clock: FakeClock
):
    """A client who lost a race and confirms another slot that is gone too: the contact is
    written already, so the step hears «slot_taken» before it writes and commits alone —
    one round trip, no write transaction, no outbox rows, no visit."""
    dialogs = DialogService(config, clock)
    chat = Chat(dialogs, 711, "Ольга")
    await reach(chat, Step.SUMMARY)
    slot, service = manicure_at_10(config)
    assert await Booker(config, clock).book(slot, service, [], None, None) is not None
    lost = await chat.press("confirm")  # lost: the contact is saved with the step
    client = await Client.get(id=(await chat.conversation()).client_id)
    assert client.phone is not None
    action = next(b.action for r in lost for row in r.buttons for b in row if "slot:" in b.action)
    _, master, minute = action.split(":")
    start = dt.datetime.fromtimestamp(int(minute) * 60, dt.UTC)
    other = Slot(start, start + dt.timedelta(minutes=service.duration), master)
    await chat.press(action)
    assert (await chat.state()).step == Step.SUMMARY
    assert await Booker(config, clock).book(other, service, [], None, None) is not None
    await Client.filter(id=client.id).update(name="Исправлено менеджером")
    calls: list[str] = []
    restore = count_round_trips(calls)
    try:
        replies = await chat.press("confirm")
    finally:
        restore()
    assert replies[0].text == dialogs.texts("slot_taken")
    assert (await chat.state()).step == Step.SLOT
    assert len(calls) == 1, calls  # the step's own commit
    assert not await Outbox.exists()
    assert await Appointment.filter(client_id=client.id).count() == 0
    assert (await Client.get(id=client.id)).name == "Исправлено менеджером"  # not rewritten


async def test_each_send_is_recorded_before_the_next_goes(db, clock: FakeClock):
    """A process killed after a step's first send leaves only the row in flight to be sent
    again: the earlier ones are already recorded (one statement per send, no batch)."""
    rows = await queued_rows("s4", 3, clock.now())
    recorded: list[list[str]] = []

    class Watching(Sender):
        async def send(self, row):
            recorded.append(
                await Outbox.filter(status=OutboxStatus.SENT)
                .order_by("id")
                .values_list("dedup_key", flat=True)
            )
            return await super().send(row)

    assert await deliver_now(rows, Watching(), clock) == 3
    keys = [row.dedup_key for row in rows]
    assert recorded == [[], keys[:1], keys[:2]]


async def test_a_confirm_on_a_stale_copy_undoes_its_booking_and_runs_again(
    db, config: BusinessConfig, clock: FakeClock
):
    """The versioned update fails after the booking was written: the ROLLBACK in the same
    hand-off (bot.dialog_store.save_and_commit) undoes the visit, its cells, the lead's move
    and the queued replies; the step runs again on fresh state and books once."""
    here, there = DialogService(config, clock), DialogService(config, clock)
    await reach(Chat(here, 801, "Ольга"), Step.SUMMARY)  # `here` caches the conversation
    await Chat(there, 801, "Ольга").sticker()  # a new version, saved elsewhere
    replies = await here.handle(CHANNEL, "801", Input(InputKind.BUTTON, "confirm"), sender=Sender())
    assert "Заявка принята" in replies[-1].text
    visit = await Appointment.get()
    assert await MasterCell.exclude(appointment_id=visit.id).count() == 0
    lead = await Lead.get(id=visit.lead_id)
    assert await status_events(lead) == [(None, "new"), ("new", "qualified")]
    conv = await Conversation.get(chat_id="801")
    keys = await Outbox.filter(kind="reply").values_list("dedup_key", flat=True)
    assert keys and {k.split(":")[2] for k in keys} == {str(conv.version - 1)}


async def test_consent_of_a_known_client_updates_it_in_place(
    db, config: BusinessConfig, clock: FakeClock
):
    """Consent is one INSERT … ON CONFLICT: a new client is created with it, a known one
    (an older policy) gets it, keeping its id and its creation time."""
    earlier = clock.now() - dt.timedelta(days=30)
    known = await Client.create(
        channel=CHANNEL,
        channel_user_id="901",
        consent_at=earlier,
        consent_policy_version="old",
        created_at=earlier,
    )
    dialogs = DialogService(config, clock)
    await reach(Chat(dialogs, 901, "Ольга"), Step.SERVICE)
    await reach(Chat(dialogs, 902, "Анна"), Step.SERVICE)
    again = await Client.get(channel_user_id="901")
    assert (again.id, again.created_at, again.consent_at, again.consent_policy_version) == (
        known.id,
        earlier,
        clock.now(),
        config.business.policy_version,
    )
    fresh = await Client.get(channel_user_id="902")
    assert (fresh.created_at, fresh.consent_at) == (clock.now(), clock.now())
    assert (await Conversation.get(chat_id="901")).client_id == known.id
    lead = await Lead.get(client_id=known.id)
    assert (lead.status, lead.created_at) == ("new", clock.now())
    assert await status_events(lead) == [(None, "new")]


async def test_a_lead_and_a_client_read_by_id_are_what_the_orm_reads(db, clock: FakeClock):
    """raw_sql.by_id builds the instance from the row as tortoise does (datetimes, enums,
    booleans, nulls), and it saves as one read through the ORM would."""
    from bot import raw_sql
    from bot.staffwork.leads import lead_of

    now = clock.now()
    client = await Client.create(
        channel=CHANNEL, channel_user_id="by-id", name="Ольга", phone="+79271234567",
        consent_at=now, created_at=now,
    )  # fmt: skip
    lead = await Lead.create(
        channel=CHANNEL, client_id=client.id, source="vk", status="qualified",
        needs_human=True, attention_at=now, created_at=now, updated_at=now,
    )  # fmt: skip
    for model, row_id in ((Lead, lead.id), (Client, client.id)):
        raw, orm = await raw_sql.by_id(model, row_id), await model.get(id=row_id)
        assert raw is not None
        fields = model._meta.fields_db_projection
        assert {f: getattr(raw, f) for f in fields} == {f: getattr(orm, f) for f in fields}
        assert {f: type(getattr(raw, f)) for f in fields} == {
            f: type(getattr(orm, f)) for f in fields
        }
    assert await lead_of(lead.id + 1) is None
    read = await lead_of(lead.id)
    assert read is not None
    read.needs_human = False
    await read.save(update_fields=["needs_human"])
    assert (await Lead.get(id=lead.id)).needs_human is False
