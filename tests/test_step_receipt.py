"""A step's receipt rides in its commit (bot.dialog_store): a plain step with a receipt is
still one round trip on SQLite and one statement on PostgreSQL; a receipt recorded before
rolls the whole step back (nothing written, no replies), whichever path the step takes; a
stale step leaves no receipt behind; old receipts are pruned."""

from __future__ import annotations

import datetime as dt

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from bot import dialog_store, privacy
from bot import dialogs as dialogs_module
from bot.delivery.step_outbox import RECEIPT_RETENTION, prune_receipts, seen
from bot.dialog_store import LogRow, Redelivered
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.models import ChannelMenu, Client, Conversation, InboundMessage, MessageLog
from scenarios.types import Input
from tests import test_step_commit as step_commit
from tests.test_postgres_step import pg as pg  # the fixtures
from tests.test_postgres_step import pg_one as pg_one
from workers.timed import TimedWork

CHANNEL = "telegram"


async def begin(dialogs: DialogService, chat: str) -> None:
    """/start and consent, each with its receipt."""
    await dialogs.handle(CHANNEL, chat, Input.command("start"), receipt=f"{chat}:1")
    await dialogs.handle(CHANNEL, chat, Input.button("consent:yes"), receipt=f"{chat}:2")


async def written(chat: str) -> tuple[int, int, int]:
    """The conversation's version, its log rows, the receipts."""
    conv = await Conversation.get(channel=CHANNEL, chat_id=chat)
    logs = await MessageLog.filter(chat_id=chat).count()
    return conv.version, logs, await InboundMessage.filter(channel=CHANNEL).count()


async def _never_seen(channel: str, receipt: str) -> bool:
    return False


async def test_a_plain_step_with_a_receipt_is_one_round_trip_and_applied_once(db, dialogs):
    await begin(dialogs, "c1")
    calls: list[str] = []
    restore = step_commit.count_round_trips(calls)
    try:
        replies = await dialogs.handle(CHANNEL, "c1", Input.button("svc:brows"), receipt="c1:3")
        assert replies and len(calls) == 1  # the receipt is in the step's one hand-off
        before, mark = await written("c1"), len(calls)
        again = await dialogs.handle(CHANNEL, "c1", Input.button("svc:brows"), receipt="c1:3")
        assert again == [] and calls[mark:] == ["_commit"]  # no look before: the commit decides
    finally:
        restore()
    assert await written("c1") == before
    assert (before[0], before[2]) == (3, 3)  # version, receipts
    receipt = await InboundMessage.get(channel=CHANNEL, message_id="c1:3")
    assert receipt.chat_id == "c1"
    replies = await dialogs.handle(CHANNEL, "c1", Input.button("addon:none"), receipt="c1:4")
    conv = await Conversation.get(chat_id="c1")  # the duplicate left our copy alone
    assert replies and conv.version == 4 and conv.state["step"] == "time"


async def test_a_stale_step_leaves_no_receipt_and_runs_again(db, config, clock):
    here, there = DialogService(config, clock), DialogService(config, clock)
    await begin(here, "c1")  # `here` caches the conversation at version 2
    await there.handle(CHANNEL, "c1", Input.button("svc:brows"), receipt="c1:3")
    replies = await here.handle(CHANNEL, "c1", Input.button("addon:none"), receipt="c1:4")
    assert replies  # not taken for a redelivery of itself on its second run
    conv = await Conversation.get(chat_id="c1")
    assert conv.version == 4 and conv.state["step"] == "time"
    assert await InboundMessage.filter(message_id="c1:4").count() == 1


async def test_a_redelivered_step_with_effects_runs_none_of_them(db, config, clock, monkeypatch):
    """Two processes hold the chat at the consent question; one applies the consent. The
    other gets the redelivery: its look before the effects stops it; and where that look
    came too late (the first committing meanwhile), the receipt's clash in the commit rolls
    the consent's client row and every other write back."""
    here = DialogService(config, clock)
    await here.handle(CHANNEL, "c1", Input.command("start"), receipt="c1:1")
    late, later = DialogService(config, clock), DialogService(config, clock)
    for there in (late, later):  # their copies: at the consent question
        there._keep(await Conversation.get(chat_id="c1"))
    await here.handle(CHANNEL, "c1", Input.button("consent:yes"), receipt="c1:2")
    before = await written("c1")
    assert await seen(CHANNEL, "c1:2") and not await seen(CHANNEL, "c1:3")
    applied = {late: [], later: []}
    for there in (late, later):
        monkeypatch.setattr(there.effects, "apply", _counted(there.effects.apply, applied[there]))
    assert await late.handle(CHANNEL, "c1", Input.button("consent:yes"), receipt="c1:2") == []
    assert applied[late] == []  # looked before the effects: none ran
    monkeypatch.setattr(dialogs_module, "seen", _never_seen)
    assert await later.handle(CHANNEL, "c1", Input.button("consent:yes"), receipt="c1:2") == []
    assert applied[later]  # the effects ran, and rolled back
    assert await written("c1") == before
    assert await Client.all().count() == 1


def _counted(apply, applied: list):
    async def counted(*args, **kwargs):
        applied.append(args[1])
        return await apply(*args, **kwargs)

    return counted


async def _a_clash_rolls_back_the_transaction(clock) -> None:
    now = clock.now()
    conv = await Conversation.create(channel=CHANNEL, chat_id="t1", updated_at=now)
    await InboundMessage.create(channel=CHANNEL, chat_id="t1", message_id="7:5", at=now)
    logs = [LogRow(CHANNEL, "t1", None, None, "in", "client", "text", "a", now)]
    with pytest.raises(Redelivered):
        async with in_transaction():
            await ChannelMenu.create(channel=CHANNEL, chat_id="t1", actions=["x"], at=now)
            await dialog_store.save_and_commit(conv, 0, {"step": "x"}, now, logs, "7:5")
    assert (await Conversation.get(id=conv.id)).version == 0
    assert not await MessageLog.exists() and not await ChannelMenu.exists()


async def test_a_receipts_clash_rolls_back_the_steps_transaction(db, clock):
    await _a_clash_rolls_back_the_transaction(clock)


async def test_on_postgres_a_receipts_clash_rolls_back_the_steps_transaction(pg, clock):
    await _a_clash_rolls_back_the_transaction(clock)


async def test_on_postgres_the_receipt_is_in_the_plain_steps_one_statement(pg_one, config, clock):
    dialogs = DialogService(config, clock)
    await begin(dialogs, "c1")
    statements: list[str] = []
    client = Tortoise.get_connection("default")
    async with client.acquire_connection() as connection:
        connection.add_query_logger(lambda record: statements.append(record.query))
    replies = await dialogs.handle(CHANNEL, "c1", Input.button("svc:brows"), receipt="c1:3")
    assert replies
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and "inbound_message" in writes[0]
    before = await written("c1")
    other = DialogService(config, clock)  # another instance gets the redelivery
    assert await other.handle(CHANNEL, "c1", Input.button("svc:brows"), receipt="c1:3") == []
    assert await dialogs.handle(CHANNEL, "c1", Input.button("svc:brows"), receipt="c1:3") == []
    assert await written("c1") == before
    assert (before[0], before[2]) == (3, 3)  # version, receipts


async def test_on_postgres_a_stale_step_leaves_no_receipt(pg_one, config, clock):
    await test_a_stale_step_leaves_no_receipt_and_runs_again(pg_one, config, clock)


async def test_the_step_that_erases_the_chat_keeps_no_id_of_it(db, dialogs):
    """/forget: the older receipts are pseudonymised by erasure, and the erasing step's own
    one is recorded that way too (a WhatsApp message id encodes the number)."""
    await begin(dialogs, "c1")
    await dialogs.handle(CHANNEL, "c1", Input.command("forget"), receipt="c1:3")
    replies = await dialogs.handle(CHANNEL, "c1", Input.button("forget:yes"), receipt="c1:4")
    assert replies
    alias = privacy.erased_id(CHANNEL, "c1")
    rows = await InboundMessage.filter(channel=CHANNEL).values_list("chat_id", "message_id")
    assert len(rows) == 4
    assert all(chat == alias and privacy.is_erased(message) for chat, message in rows)
    assert (alias, privacy.erased_id(CHANNEL, "c1:4")) in rows


OLD = RECEIPT_RETENTION + dt.timedelta(minutes=1)
FRESH = RECEIPT_RETENTION - dt.timedelta(minutes=1)


async def receipt(channel: str, chat: str, message_id: str, at: dt.datetime) -> None:
    await InboundMessage.create(channel=channel, chat_id=chat, message_id=message_id, at=at)


async def kept(channel: str) -> list[str]:
    rows = InboundMessage.filter(channel=channel).order_by("message_id")
    return await rows.values_list("message_id", flat=True)


CHANNELS = ("telegram", "vk", "max", "whatsapp")
PRUNE_CASES = [  # the ages of one chat's receipts, oldest first; what is left of them
    ((OLD, dt.timedelta(minutes=1)), ["2"]),  # past the retention, a newer one after it
    ((OLD + dt.timedelta(days=400), OLD), ["2"]),  # both past it: the newest stays
    ((OLD,), ["1"]),  # the chat's only one: its newest
    ((FRESH, dt.timedelta(minutes=1)), ["1", "2"]),  # within the retention
    ((OLD, OLD), ["1", "2"]),  # the same instant as the newest: both stay
]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(("ages", "left"), PRUNE_CASES)
async def test_receipts_past_any_redelivery_are_pruned_but_each_chats_newest(
    db, clock, channel, ages, left
):
    await pruned_but_the_newest(clock, channel, ages, left)


async def pruned_but_the_newest(
    clock, channel: str, ages: tuple[dt.timedelta, ...], left: list[str]
) -> None:
    """Every channel alike (no channel is named): a receipt past any redelivery goes unless
    it is its chat's newest, which first-contact and 24-hour checks read."""
    await InboundMessage.all().delete()
    now = clock.now()
    for number, age in enumerate(ages, 1):
        await receipt(channel, "c1", str(number), now - age)
    await receipt(channel, "c2", "other", now)  # another chat's newer row saves nothing
    assert await prune_receipts(now) == len(ages) - len(left)
    assert await kept(channel) == sorted([*left, "other"])


async def test_receipts_are_pruned_in_batches(db, clock):
    now = clock.now()
    for number in range(7):
        await receipt(CHANNEL, "c1", f"m{number}", now - OLD - dt.timedelta(minutes=number))
    assert await prune_receipts(now, batch=2) == 6
    assert await kept(CHANNEL) == ["m0"]


async def test_the_timed_work_prunes_old_receipts_hourly(db, config, clock):
    work = TimedWork(config, Texts("ru"), clock, frozenset())
    old = clock.now() - OLD
    await receipt(CHANNEL, "c1", "1", old)
    await receipt(CHANNEL, "c1", "newest", clock.now())
    assert (await work.run())["receipts_pruned"] == 1
    await receipt(CHANNEL, "c1", "2", old)
    clock.advance(minutes=30)
    assert (await work.run())["receipts_pruned"] == 0  # within the hour: not looked at
    clock.advance(minutes=31)
    assert (await work.run())["receipts_pruned"] == 1
    assert await kept(CHANNEL) == ["newest"]
