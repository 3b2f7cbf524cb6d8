"""Typed client button payloads (issue 12, item 2): each round-trips in today's wire format,
every payload the demo salon can pack fits Telegram's 64 bytes, and a malformed one is
refused by `unpack` and answered by the scenario as a miss that changes nothing."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.config import BusinessConfig
from bot.dialogs import DialogService
from handlers.telegram import Act
from scenarios import actions as act
from scenarios.state import Step
from tests.conftest import SAMARA
from tests.dialog_chat import ANNA_TUE_10, TUE_10, Chat, actions, reach

UTC_10 = TUE_10.astimezone(dt.UTC)

WIRE = [  # the action, and the payload buttons already sent to clients carry
    (act.PickService("manicure"), "svc:manicure"),
    (act.PickAddon("gel"), "addon:gel"),
    (act.PickDay(dt.date(2026, 11, 26)), "day:2026-11-26"),
    (act.PickSlot("anna", UTC_10), ANNA_TUE_10),
    (act.CancelVisit(12), "cancel:12"),
    (act.ConfirmVisitTap(7), "rconfirm:7"),
    (act.MoveVisit(7), "rmove:7"),
    *((tap, tap.value) for tap in act.Tap),
]


@pytest.mark.parametrize(("action", "wire"), WIRE, ids=[w for _, w in WIRE])
def test_each_action_round_trips_in_the_old_wire_format(action, wire):
    assert action.pack() == wire
    assert act.unpack(wire) == action


def _every_payload(config: BusinessConfig, today: dt.date) -> list[str]:
    """All the demo salon can put on a button: services, add-ons, the horizon's days, a slot
    for every master at every 5 minutes of those days, and the largest ids."""
    days = [today + dt.timedelta(days=i) for i in range(config.booking.horizon_days + 1)]
    starts = [
        dt.datetime.combine(d, dt.time(), SAMARA) + dt.timedelta(minutes=m)
        for d in days
        for m in range(0, 24 * 60, 5)
    ]
    return [
        *(act.PickService(s.id).pack() for s in config.services),
        *(act.PickAddon(x.id).pack() for s in config.services for x in s.addons),
        *(act.PickDay(d).pack() for d in days),
        *(act.PickSlot(m.id, s.astimezone(dt.UTC)).pack() for m in config.masters for s in starts),
        act.PickSlot("m" * 16, dt.datetime(2099, 12, 31, 23, 59, tzinfo=dt.UTC)).pack(),
        *(
            kind(10**18 - 1).pack()
            for kind in (act.CancelVisit, act.ConfirmVisitTap, act.MoveVisit)
        ),
        *(tap.pack() for tap in act.Tap),
    ]


def test_every_demo_payload_fits_telegram_callback_data(config: BusinessConfig):
    payloads = _every_payload(config, dt.date(2026, 11, 23))
    assert len(payloads) > 30_000
    for payload in payloads:
        assert len(payload.encode()) <= act.MAX_BYTES
        assert act.unpack(payload) is not None
        Act(v=payload).pack()  # aiogram refuses callback data over 64 bytes


MALFORMED = [
    "slot:anna:abc",
    "slot::1",
    "slot:anna:",
    "slot:anna:1:2",
    "slot:Anna:1",
    "slot:anna:-5",
    "slot:anna:9999999999",
    "slot:anna:²",
    "day:2026-13-01",
    "day:2026-02-30",
    "day:20261201",
    "day:",
    "svc:" + "a" * 200,
    "svc:",
    "svc:../etc",
    "addon:GEL",
    "cancel:-1",
    "cancel:0",
    "cancel:12a",
    "rconfirm:",
    "rmove:1e3",
    "frobnicate:1",
    "back:1",
    "BACK",
    "+79271234567:1",
    "",
]


@pytest.mark.parametrize("payload", MALFORMED)
def test_malformed_payloads_unpack_to_none(payload):
    assert act.unpack(payload) is None


@pytest.fixture
def olga(dialogs: DialogService) -> Chat:
    return Chat(dialogs, 501, "Ольга")


@pytest.mark.parametrize("step", [Step.PICK_DAY, Step.SLOT, Step.SUMMARY])
@pytest.mark.parametrize("payload", MALFORMED)
async def test_scenario_answers_a_malformed_payload_as_a_miss_and_changes_nothing(
    olga: Chat, step: Step, payload: str
):
    await reach(olga, step)
    before = await olga.state()
    replies = await olga.press(payload)
    assert len(replies) == 1 and not actions(replies)
    assert "кнопк" in replies[0].text.lower() or "не понял" in replies[0].text.lower()
    assert await olga.state() == before  # no step, no choice, not even a counted miss


async def test_many_forged_payloads_never_hand_off(olga: Chat):
    """Two real misses hand the client to a person; forged payloads are not the client's."""
    await reach(olga, Step.SLOT)
    for payload in MALFORMED:
        await olga.press(payload)
    state = await olga.state()
    assert state.step == Step.SLOT and state.misses == 0
    assert not (await olga.lead()).needs_human


async def test_a_forged_payload_is_logged_without_its_contents(olga: Chat, caplog):
    await reach(olga, Step.SLOT)
    with caplog.at_level(logging.WARNING, logger="scenarios.booking_flow"):
        await olga.press("+79271234567:1")
        await olga.press("slot:anna:abc")
    lines = [r.getMessage() for r in caplog.records if "bad_action" in r.getMessage()]
    assert len(lines) == 2
    assert "79271234567" not in caplog.text
    assert "kind='slot'" in lines[1]
