"""Typed staff buttons (bot/staffwork/actions.py): each payload round-trips within
Telegram's 64 bytes, reads the strings queued before the payloads were typed, and a forged
or garbled payload for each button is answered «Эта кнопка устарела.» over the fake Bot API
with nothing changed."""

from __future__ import annotations

import datetime as dt

import pytest

from admin_bot.handover import HandTo
from bot.models import Outbox
from bot.staffwork.actions import (
    ACTIONS,
    CALL_OUTCOMES,
    CANCEL_REASONS,
    LOST_REASONS,
    MAX_PACKED,
    Action,
    CalledOutcome,
    CancelReason,
    Claim,
    LostReason,
    MoveTo,
    Reasoned,
    unpack,
)
from handlers.telegram import Act
from tests import staff_fixtures
from tests.staff_fixtures import MASHA, OWNER, STAFF, Desk, action_rows

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures

BIG_ID = 999_999_999_999_999_999  # 18 digits: the longest id a button may carry
LATE = dt.datetime(2099, 12, 31, 23, 59, tzinfo=dt.UTC)


def every_action(record_id: int) -> list[Action]:
    simple = [
        kind(record_id)
        for kind in ACTIONS.values()
        if not issubclass(kind, Reasoned) and kind is not MoveTo
    ]
    return [
        *simple,
        *(CancelReason(record_id, r) for r in CANCEL_REASONS),
        *(LostReason(record_id, r) for r in LOST_REASONS),
        *(CalledOutcome(record_id, r) for r in CALL_OUTCOMES),
        MoveTo(record_id, "m" * 16, LATE),  # master ids are at most 16 characters
    ]


@pytest.mark.parametrize("record_id", [1, 4242, BIG_ID])
def test_every_payload_round_trips_within_64_bytes(record_id: int):
    actions = every_action(record_id)
    assert {type(a) for a in actions} == set(ACTIONS.values())
    for action in actions:
        wire = Act(v=action.pack()).pack()  # as the Telegram button carries it
        assert len(wire.encode()) <= MAX_PACKED, wire
        assert unpack(Act.unpack(wire).v) == action


def test_payloads_queued_before_the_change_are_understood():
    """Cards already in the outbox carry the old hand-built strings: same wire format."""
    minutes = int((LATE - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds() // 60)
    assert unpack("claim:12") == Claim(12)
    assert unpack("cr:7:client") == CancelReason(7, "client")
    assert unpack("lr:7:other") == LostReason(7, "other")
    assert unpack(f"mv:7:slot:anna:{minutes}") == MoveTo(7, "anna", LATE)


@pytest.mark.parametrize(
    "data",
    [
        "claim",
        "claim:",
        "claim:abc",
        "claim:-1",
        "claim:1:2",
        "claim:١٢",  # non-ASCII digits
        "cr:1:whatever",
        "lr:1",
        "mv:1:slot:anna:soon",
        "mv:x:slot:anna:1",
        "paid:1:999999",
        "nosuch:1",
        "claim:" + "9" * 60,
    ],
)
def test_garbled_payloads_unpack_to_nothing(data: str):
    assert unpack(data) is None


FORGED = {  # a garbled payload for each staff button, pressed by the owner
    "claim": "claim:1x",
    "confirm": "confirm:",
    "cancel": "cancel:1:2",
    "cancel reason": "cr:{v}:because",
    "move": "move:{v}:now",
    "move to": "mv:{v}:slot:anna:tomorrow",
    "dialog": "dialog:-{lead}",
    "lost": "lost:{lead}:x",
    "lost reason": "lr:{lead}:I said so",
    "came": "came:{v}:1",
    "paid": "paid:{v}:1000000",
    "noshow": "noshow:{v}.0",
    "handover": "handover:{lead}:{lead}",
    "unknown": "refund:{v}",
}


@pytest.mark.parametrize("button", FORGED)
async def test_a_forged_payload_is_answered_politely_and_changes_nothing(desk: Desk, button: str):
    visit = await desk.book()
    await desk.card(MASHA)
    desk.clock.set(visit.start + dt.timedelta(minutes=5))  # outcomes would be allowed now
    before = await action_rows()
    data = FORGED[button].format(v=visit.id, lead=visit.lead_id)

    answer = await desk.answer(desk.press(OWNER, data))
    await desk.settle()

    assert answer.params.get("text") == "Эта кнопка устарела.", answer.params
    assert await action_rows() == before
    # the moved clock breached the lead's SLAs: those escalations are not the press's doing
    escalations = set(await Outbox.filter(kind="sla").values_list("message_id", flat=True))
    assert not [
        m
        for m in desk.api.sent(STAFF, OWNER.id)
        if "Заявка #1" in (m.get("text") or "") and m["message_id"] not in escalations
    ]


@pytest.mark.parametrize("data", ["hto:1:x", "hto:1", "staff_rm:me", "garbage", ""])
async def test_a_forged_aiogram_payload_is_stale_too(desk: Desk, data: str):
    """The handover picker and /team's «Удалить» (aiogram CallbackData) and anything else."""
    visit = await desk.book()
    await desk.card(MASHA)
    before = await action_rows()
    update = desk.api.press_button(STAFF, OWNER, data, strict=False)
    answer = await desk.answer(update)
    await desk.settle()
    assert answer.params.get("text") == "Эта кнопка устарела."
    assert await action_rows() == before
    assert HandTo(lead_id=visit.lead_id, member_id=1).pack() == f"hto:{visit.lead_id}:1"
