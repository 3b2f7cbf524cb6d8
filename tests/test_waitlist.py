"""The waitlist through the real dialogue and outbox: a freed slot goes down the line, the
first to accept books it, the others hear «уже занято» and keep their place; offers and
places expire; forged offers change nothing; every kind of freed time reaches the hook."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.booking.booker import Booker
from bot.booking.confirm_calls import flag_unconfirmed, unanswered
from bot.booking.reminders import queue_due_reminders
from bot.booking.schedule import Change, add_override, undo_override
from bot.config import BusinessConfig
from bot.delivery.freshness import still_true
from bot.dialogs import DialogService
from bot.models import Appointment, Lead, MasterCell, Outbox, StaffRole
from bot.numbers import reports
from bot.periods import week_span
from bot.schedule_models import OverrideKind, ScheduleOverride
from bot.staffwork.lead_actions import LeadActions
from bot.staffwork.sla import deadlines
from bot.waitlist_models import (
    ConfirmCall,
    EntryStatus,
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
)
from scenarios.actions import CancelVisit, LeaveWaitlist, TakeSpot
from tests import test_postgres
from tests.dialog_chat import Chat, book, text
from tests.waitlist_helpers import (
    TUE,
    at,
    book_the_only_slot,
    full_tuesday,
    join_for_tuesday,
    offer_id,
    offers_to,
)
from workers.timed import TimedWork

pg = test_postgres.pg  # the fixture: a migrated PostgreSQL schema
OWNER = 9001


def with_waitlist(config: BusinessConfig, **settings) -> BusinessConfig:
    return config.model_copy(update={"waitlist": config.waitlist.model_copy(update=settings)})


async def tick(config: BusinessConfig, dialogs: DialogService, clock) -> dict[str, int]:
    return await TimedWork(config, dialogs.texts, clock, frozenset()).run()


async def setting(dialogs: DialogService, clock, n: int = 3) -> tuple[Chat, Appointment, list]:
    """Tuesday full; one client holds its only slot, `n` others wait for Tuesday."""
    await full_tuesday(clock.now())
    holder = Chat(dialogs, 100)
    visit = await book_the_only_slot(holder)
    waiting = [Chat(dialogs, 201 + i) for i in range(n)]
    for chat in waiting:
        await join_for_tuesday(chat)
    return holder, visit, waiting


async def test_a_freed_slot_goes_down_the_line_and_the_first_to_accept_books_it(db, config, clock):
    dialogs = DialogService(config, clock)
    holder, visit, (a, b, c) = await setting(dialogs, clock)
    assert await Outbox.filter(kind="waitlist_offer").count() == 0

    assert "Запись отменена" in text(await holder.press(CancelVisit(visit.id).pack()))
    # offered at once, in the cancel's own step, to the first in line only
    assert [len(await offers_to(x.chat_id)) for x in (a, b, c)] == [1, 0, 0]

    clock.advance(minutes=config.waitlist.offer_minutes + 1)  # Анна's client never answers
    assert (await tick(config, dialogs, clock))["waitlist"] == 1
    assert [len(await offers_to(x.chat_id)) for x in (a, b, c)] == [1, 1, 0]

    booked = await b.press((await offers_to(b.chat_id))[0])
    assert "Заявка принята" in text(booked)
    late = await a.press((await offers_to(a.chat_id))[0])
    assert "уже занято" in text(late)

    new = await Appointment.get(client_id=(await b.client()).id)
    assert (new.master_id, new.start, new.status) == ("anna", at(TUE, 10), "pending")
    joined_with = (await WaitlistEntry.get(client_id=(await b.client()).id)).lead_id
    assert new.lead_id == joined_with  # the lead (and its source) the client joined with
    assert (await Lead.get(id=joined_with)).status == "qualified"
    statuses = {
        x.chat_id: (await WaitlistEntry.get(client_id=(await x.client()).id)).status
        for x in (a, b, c)
    }
    assert statuses == {a.chat_id: "waiting", b.chat_id: "booked", c.chat_id: "waiting"}
    assert await WaitlistOffer.filter(status=OfferStatus.TAKEN, appointment_id=new.id).count() == 1


async def test_offered_to_all_the_first_tap_wins_the_others_stay_on_the_list(db, config, clock):
    config = with_waitlist(config, mode="all")
    dialogs = DialogService(config, clock)
    holder, visit, (a, b, c) = await setting(dialogs, clock)
    await holder.press(CancelVisit(visit.id).pack())
    assert [len(await offers_to(x.chat_id)) for x in (a, b, c)] == [1, 1, 1]

    assert "Заявка принята" in text(await b.press((await offers_to(b.chat_id))[0]))
    for loser in (a, c):
        assert "уже занято" in text(await loser.press((await offers_to(loser.chat_id))[0]))
        entry = await WaitlistEntry.get(client_id=(await loser.client()).id)
        assert entry.status == EntryStatus.WAITING
    assert await Appointment.filter(start=at(TUE, 10), status="pending").count() == 1


async def race_for_one_slot(config: BusinessConfig, clock) -> list[str]:
    """Two clients tap their offers of one slot at once, each through its own runner (as two
    processes would); the replies' texts."""
    config = with_waitlist(config, mode="all")
    setup = DialogService(config, clock)
    holder, visit, (a, b) = await setting(setup, clock, n=2)
    await holder.press(CancelVisit(visit.id).pack())
    taps = [(x.chat_id, (await offers_to(x.chat_id))[0]) for x in (a, b)]
    runners = [DialogService(config, clock) for _ in taps]
    replies = await asyncio.gather(
        *(
            Chat(runner, chat_id).press(payload)
            for runner, (chat_id, payload) in zip(runners, taps, strict=True)
        )
    )
    return [text(r) for r in replies]


async def test_two_clients_accepting_at_once_exactly_one_wins(db, config, clock):
    answers = await race_for_one_slot(config, clock)
    assert sum("Заявка принята" in t for t in answers) == 1
    assert sum("уже занято" in t for t in answers) == 1
    assert await Appointment.filter(start=at(TUE, 10), status="pending").count() == 1


async def test_two_clients_accepting_at_once_on_postgresql(pg, config, clock):
    answers = await race_for_one_slot(config, clock)
    assert sorted("Заявка принята" in t for t in answers) == [False, True]
    assert await Appointment.filter(start=at(TUE, 10), status="pending").count() == 1
    assert await WaitlistOffer.filter(status="taken").count() == 1


async def test_a_place_on_the_list_lapses_and_the_client_is_told(db, config, clock):
    dialogs = DialogService(config, clock)
    _, _, (chat,) = await setting(dialogs, clock, n=1)
    entry = await WaitlistEntry.get(client_id=(await chat.client()).id)
    clock.advance(days=config.waitlist.entry_days, minutes=1)
    await tick(config, dialogs, clock)
    assert (await WaitlistEntry.get(id=entry.id)).status == EntryStatus.EXPIRED
    told = await Outbox.get(dedup_key=f"wexpired:{entry.id}")
    assert "Срок ожидания" in told.payload["text"] and told.chat_id == str(chat.chat_id)
    await tick(config, dialogs, clock)  # once only
    assert await Outbox.filter(dedup_key__startswith="wexpired:").count() == 1


async def test_a_forged_offer_id_changes_nothing(db, config, clock):
    dialogs = DialogService(config, clock)
    holder, visit, (a, b) = await setting(dialogs, clock, n=2)
    await holder.press(CancelVisit(visit.id).pack())
    real = offer_id((await offers_to(a.chat_id))[0])
    before = (
        await WaitlistOffer.all().values(),
        await WaitlistEntry.all().values(),
        await Appointment.all().values(),
        await MasterCell.all().count(),
    )
    for forged in (real, real + 1, 99999):  # someone else's offer, no offer, no offer
        replies = await b.press(TakeSpot(forged).pack())
        assert "не найдено" in text(replies)
    assert "не в этом листе" in text(await b.press(LeaveWaitlist(1).pack()))  # a's entry
    after = (
        await WaitlistOffer.all().values(),
        await WaitlistEntry.all().values(),
        await Appointment.all().values(),
        await MasterCell.all().count(),
    )
    assert after == before


async def test_leaving_the_list_passes_a_live_offer_on(db, config, clock):
    dialogs = DialogService(config, clock)
    holder, visit, (a, b) = await setting(dialogs, clock, n=2)
    await holder.press(CancelVisit(visit.id).pack())
    entry = await WaitlistEntry.get(client_id=(await a.client()).id)
    assert "вышли из листа" in text(await a.press(LeaveWaitlist(entry.id).pack()))
    assert (await WaitlistEntry.get(id=entry.id)).status == EntryStatus.LEFT
    assert len(await offers_to(b.chat_id)) == 1  # at once, not after the hold
    assert "уже занято" in text(await a.press((await offers_to(a.chat_id))[0]))


async def test_a_client_who_asks_to_be_forgotten_leaves_the_list_and_their_offer_passes_on(
    db, config, clock
):
    dialogs = DialogService(config, clock)
    holder, visit, (a, b) = await setting(dialogs, clock, n=2)
    await holder.press(CancelVisit(visit.id).pack())
    entry = await WaitlistEntry.get(client_id=(await a.client()).id)
    await a.command("forget")
    await a.press("forget:yes")
    assert (await WaitlistEntry.get(id=entry.id)).status == EntryStatus.LEFT
    assert len(await offers_to(b.chat_id)) == 1


async def test_a_staff_cancellation_and_a_client_move_free_time_for_the_list(db, config, clock):
    dialogs = DialogService(config, clock)
    _, visit, (a,) = await setting(dialogs, clock, n=1)
    actions = LeadActions(config, dialogs.texts, Booker(config, clock), frozenset({OWNER}))
    await actions.cancel(visit.id, "client_asked", OWNER, clock.now())
    assert len(await offers_to(a.chat_id)) == 1
    # a move: the old time is freed once the new one holds (the client's «Перенести»)
    mover = Chat(dialogs, 600)
    moved = await book_the_only_slot(mover)  # a's offer is still live: nobody else got it
    await mover.press(f"rmove:{moved.id}")
    wednesday = TUE + dt.timedelta(days=1)
    await mover.press(f"day:{wednesday.isoformat()}")
    await mover.press(f"slot:anna:{int(at(wednesday, 12).timestamp()) // 60}")
    assert "Запись перенесена" in text(await mover.press("confirm"))
    assert (await Appointment.get(id=moved.id)).status == "cancelled"
    offers = await WaitlistOffer.filter(start=at(TUE, 10)).values_list("entry_id", "status")
    assert len(offers) == 1 and offers[0][1] == "offered"  # a's, still live: never twice
    assert "Заявка принята" in text(await a.press((await offers_to(a.chat_id))[0]))


async def test_a_client_who_books_the_service_themselves_waits_no_more(db, config, clock):
    dialogs = DialogService(config, clock)
    holder, visit, (a, b) = await setting(dialogs, clock, n=2)
    await holder.press(CancelVisit(visit.id).pack())
    assert "Заявка принята" in text(await book(a))  # the freed time, by the dialogue itself
    entry = await WaitlistEntry.get(client_id=(await a.client()).id)
    assert entry.status == EntryStatus.LEFT
    assert await WaitlistOffer.filter(entry_id=entry.id).values_list("status", flat=True) == [
        "withdrawn"
    ]
    assert await offers_to(b.chat_id) == []  # the time is a's now: nothing to pass on


async def test_an_offer_for_a_slot_taken_meanwhile_gets_taken_and_keeps_the_place(
    db, config, clock
):
    dialogs = DialogService(config, clock)
    holder, visit, (a,) = await setting(dialogs, clock, n=1)
    await holder.press(CancelVisit(visit.id).pack())
    rebooked = await book_the_only_slot(Chat(dialogs, 400))  # another client, by the dialogue
    assert rebooked.start == at(TUE, 10)
    entry = await WaitlistEntry.get(client_id=(await a.client()).id)
    await Lead.filter(id=entry.lead_id).update(status="lost")  # a new lead would be needed
    leads = await Lead.all().count()
    assert "уже занято" in text(await a.press((await offers_to(a.chat_id))[0]))
    assert (await WaitlistEntry.get(client_id=(await a.client()).id)).status == "waiting"
    assert await Lead.all().count() == leads  # a lost race opens no lead


async def test_an_extra_shift_and_undone_time_off_free_time_for_the_waitlist(db, config, clock):
    dialogs = DialogService(config, clock)
    await full_tuesday(clock.now())
    await book_the_only_slot(Chat(dialogs, 100))
    a, b = Chat(dialogs, 501), Chat(dialogs, 502)
    entry_a, entry_b = await join_for_tuesday(a), await join_for_tuesday(b)
    # Ольга's extra shift from 21:00: offered in the change's own transaction, to a only
    shift = Change("olga", OverrideKind.EXTRA_SHIFT, at(TUE, 21), at(TUE, 22))
    await add_override(config, shift, 1, StaffRole.OWNER, None, clock.now())
    olga = await WaitlistOffer.filter(master_id="olga").values_list("entry_id", "start")
    assert olga == [(entry_a.id, at(TUE, 21))]
    # Анна's block undone: her afternoon goes to both, in order, never the same time twice
    block = await ScheduleOverride.get(master_id="anna")
    await undo_override(block.id, 1, StaffRole.OWNER, None, clock.now(), config=config)
    anna = (
        await WaitlistOffer.filter(master_id="anna").order_by("id").values_list("entry_id", "start")
    )
    # after the 10:00 visit and its 10-minute buffer; then past a's hour and its buffer
    assert anna == [(entry_a.id, at(TUE, 11, 10)), (entry_b.id, at(TUE, 12, 30))]


@pytest.mark.parametrize(
    ("wish", "offered"),
    [
        ({}, 1),
        ({"master_id": "anna"}, 1),
        ({"master_id": "olga"}, 0),  # waits for Ольга: Анна's time is not for this client
        ({"after_minute": 18 * 60}, 0),  # the evening only
        ({"before_minute": 9 * 60 + 59}, 0),  # starts before 10:00 only
        ({"after_minute": 10 * 60, "before_minute": 10 * 60}, 1),
    ],
)
async def test_the_master_and_part_of_the_day_a_client_waits_for(db, config, clock, wish, offered):
    dialogs = DialogService(config, clock)
    holder, visit, (a,) = await setting(dialogs, clock, n=1)
    await WaitlistEntry.filter(client_id=(await a.client()).id).update(**wish)
    await holder.press(CancelVisit(visit.id).pack())
    assert len(await offers_to(a.chat_id)) == offered


async def test_an_offer_is_not_sent_late_once_it_cannot_be_taken(db, config, clock):
    dialogs = DialogService(config, clock)
    holder, visit, _ = await setting(dialogs, clock, n=1)
    await holder.press(CancelVisit(visit.id).pack())
    row = await Outbox.get(kind="waitlist_offer")
    assert await still_true(row, clock.now())
    await book_the_only_slot(Chat(dialogs, 400))  # the time is booked before the send
    assert not await still_true(row, clock.now())
    await Appointment.filter(client_id=(await Chat(dialogs, 400).client()).id).update(
        status="cancelled"
    )
    assert await still_true(row, clock.now())
    assert not await still_true(row, clock.now() + dt.timedelta(minutes=31))  # expired


async def test_the_weekly_report_counts_refilled_slots_and_revenue(db, config, clock):
    dialogs = DialogService(config, clock)
    holder, visit, (a,) = await setting(dialogs, clock, n=1)
    await holder.press(CancelVisit(visit.id).pack())
    await a.press((await offers_to(a.chat_id))[0])
    span = week_span(clock.now().astimezone(config.tz).date())
    weekly = await reports.weekly_text(config, dialogs.texts, span)
    assert "Лист ожидания: заполнено окон 1, возвращено выручки 1 500 ₽" in weekly


@pytest.mark.parametrize("mode", ["fifo", "all"])
async def test_the_hook_offers_nothing_when_the_list_is_off(db, config, clock, mode):
    config = with_waitlist(config, enabled=False, mode=mode)
    dialogs = DialogService(config, clock)
    await full_tuesday(clock.now())
    holder = Chat(dialogs, 100)
    visit = await book_the_only_slot(holder)
    replies = await Chat(dialogs, 201).command("start")
    assert "wait:join" not in [b.action for r in replies for row in r.buttons for b in row]
    await holder.press(CancelVisit(visit.id).pack())
    assert await WaitlistOffer.all().count() == 0


async def test_the_migration_on_postgresql(pg, clock):
    """Migration 9's tables on a real PostgreSQL server."""
    now = clock.now()
    entry = await WaitlistEntry.create(
        client_id=1, service_id="manicure", day_from=TUE, day_to=TUE, after_minute=600,
        created_at=now, expires_at=now + dt.timedelta(days=14),
    )  # fmt: skip
    await WaitlistOffer.create(
        entry_id=entry.id, master_id="anna", start=at(TUE, 10), end=at(TUE, 11),
        offered_at=now, expires_at=now,
    )  # fmt: skip
    got = await WaitlistEntry.get(id=entry.id)
    assert (got.addon_ids, got.after_minute, got.status, got.day_to) == ([], 600, "waiting", TUE)


async def test_confirmation_calls_on_postgresql(pg, config, clock):
    """A visit reminded for the last time and unconfirmed: one task, then on the SLA clock."""
    dialogs = DialogService(config, clock)
    chat = Chat(dialogs, 700)
    visit = await book_the_only_slot(chat)  # Tuesday 10:00: its last reminder is Monday 21:45
    texts, owners = dialogs.texts, frozenset({OWNER})
    clock.set(at(TUE - dt.timedelta(days=1), 21, 46))
    await queue_due_reminders(config, texts, clock.now())
    assert await flag_unconfirmed(config, texts, owners, clock.now()) == 1
    assert await flag_unconfirmed(config, texts, owners, clock.now()) == 0  # once
    assert [c.appointment_id for c in await ConfirmCall.all()] == [visit.id]
    clock.set(at(TUE, 9, 44))  # 15 working minutes would run from 10:00 on Tuesday…
    assert [c.appointment_id for c, _, _ in await unanswered(clock.now())] == [visit.id]
    assert "confirm_call" not in [d.kind for d in await deadlines(config, clock.now())]
    clock.set(at(TUE, 9, 45))  # …but the visit is at 10:00: due 15 minutes before it
    assert "confirm_call" in [d.kind for d in await deadlines(config, clock.now())]
