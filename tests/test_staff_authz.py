"""After a claim only the claimer and the owners act on a lead; the owner can hand it over.

Everything goes through both bots over the fake Bot API: Ксения pre-books with Анна, Маша
claims the lead, then each person presses each action (or replies to the card).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import pytest

from admin_bot.handover import HandTo
from bot.booking.booker import Booker
from bot.booking.slots import Slot
from bot.i18n import Texts
from bot.models import (
    Appointment,
    Conversation,
    Lead,
    LeadEvent,
    MessageLog,
    Outbox,
    StaffMember,
)
from bot.staffwork.access import NoAccess, NotYours
from bot.staffwork.lead_actions import LeadActions
from scenarios.keyboards import slot_action
from tests import staff_fixtures
from tests.fakes.bot_api import FakeUser
from tests.staff_fixtures import (
    ANNA,
    CLIENT,
    KSENIA,
    MASHA,
    OWNER,
    PETYA,
    STAFF,
    Desk,
    action_rows,
    db_rows,
)

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures

ACTORS = {"claimer": MASHA, "other manager": PETYA, "owner": OWNER, "master": ANNA}
ALLOWED = {  # who may do what once Маша has claimed the lead
    "confirm": {"claimer", "owner"},
    "cancel": {"claimer", "owner"},
    "move": {"claimer", "owner"},
    "lost": {"claimer", "owner"},
    "dialog": {"claimer", "owner"},
    "relay": {"claimer", "owner"},
    "noshow": {"claimer", "owner", "master"},  # the master of this very visit
    "came": {"claimer", "owner", "master"},
}
DENIAL = {"other manager": "закреплена за другим", "master": "Нет доступа"}


async def claimed_by_masha(desk: Desk) -> Appointment:
    visit = await desk.book()
    desk.tap(MASHA, "✋ Взять", await desk.card(MASHA))
    await desk.sees(MASHA, "Заявка #1 ваша")
    await desk.client_gets("подключился")
    return visit


def later(visit: Appointment) -> str:
    start = visit.start + dt.timedelta(hours=3)
    return slot_action(Slot(start, start + (visit.end - visit.start), visit.master_id))


async def act(desk: Desk, user: FakeUser, action: str, visit: Appointment) -> str | None:
    """Do the action as `user`; the refusal they saw, if any (an alert or a message)."""
    lead, v = visit.lead_id, visit.id
    presses = {
        "confirm": [f"confirm:{v}"],
        "cancel": [f"cr:{v}:client"],
        "move": [f"mv:{v}:{later(visit)}"],
        "lost": [f"lr:{lead}:expensive"],
        "dialog": [f"dialog:{lead}"],
        "noshow": [f"noshow:{v}"],
        "came": [f"came:{v}", f"paid:{v}"],
    }
    if action == "relay":
        return await relay(desk, user)
    if user is not ANNA:  # the card to press on (the owner got no alert: managers did)
        desk.say(user, "/lead 1")
        await desk.card(user)
    mark = len(desk.api.sent(STAFF, user.id))
    answers = [await desk.answer(desk.press(user, a)) for a in presses[action]]
    await desk.settle()
    alerts = [a.params["text"] for a in answers if a.params.get("show_alert")]
    said = [m.get("text") or "" for m in desk.api.sent(STAFF, user.id)[mark:]]
    refusals = [x for x in alerts + said if any(d in x for d in DENIAL.values())]
    return refusals[0] if refusals else None


async def relay(desk: Desk, user: FakeUser) -> str | None:
    """Reply to the lead's card (as shown by /lead); the master has no /lead: she just writes."""
    if user is ANNA:
        desk.say(user, "Добрый день!")
        return (await desk.sees(user, "Нет открытого диалога"))["text"] and DENIAL["master"]
    desk.say(user, "/lead 1")
    card = await desk.card(user)
    desk.say(user, "Добрый день! Это салон.", reply_to=card)
    await desk.settle()
    said = [m.get("text") or "" for m in desk.api.sent(STAFF, user.id)]
    refusals = [x for x in said if DENIAL["other manager"] in x]
    return refusals[0] if refusals else None


async def effect(action: str, visit: Appointment, user: FakeUser, desk: Desk) -> bool:
    """Whether the action took effect."""
    appointment = await Appointment.get(id=visit.id)
    lead = await Lead.get(id=visit.lead_id)
    checks: dict[str, Callable[[], Awaitable[bool]] | bool] = {
        "confirm": appointment.status == "confirmed",
        "cancel": appointment.status == "cancelled" and lead.status == "lost",
        "move": appointment.status == "cancelled" and lead.status != "lost",
        "lost": lead.status == "lost",
        "dialog": any(
            "Диалог по заявке #1" in (m.get("text") or "") for m in desk.api.sent(STAFF, user.id)
        ),
        "relay": await MessageLog.filter(author=f"staff:{user.id}").exists(),
        "noshow": appointment.status == "no_show",
        "came": appointment.status == "came" and appointment.paid_kop == appointment.price_kop,
    }
    return bool(checks[action])


@pytest.mark.parametrize("action", ALLOWED)
@pytest.mark.parametrize("who", ACTORS)
async def test_authorization_matrix(desk: Desk, who: str, action: str):
    user = ACTORS[who]
    visit = await claimed_by_masha(desk)
    if action in ("noshow", "came"):  # the visit has started
        desk.clock.set(visit.start + dt.timedelta(minutes=5))
    before, client_before = await action_rows(), len(desk.api.sent(CLIENT, KSENIA.id))

    refusal = await act(desk, user, action, visit)

    if who in ALLOWED[action]:
        assert refusal is None, refusal
        assert await effect(action, visit, user, desk), f"{who} could not {action}"
        return
    assert refusal is not None and DENIAL[who] in refusal, "a polite answer"
    assert not await effect(action, visit, user, desk)
    assert await action_rows() == before, "nothing changed"
    assert len(desk.api.sent(CLIENT, KSENIA.id)) == client_before, "the client heard nothing"


async def test_the_services_check_too_not_only_the_buttons(desk: Desk):
    """A caller that skips the staff bot's filters (another channel, a script) is refused."""
    visit = await claimed_by_masha(desk)
    booker = Booker(desk.config, desk.clock)
    actions = LeadActions(desk.config, Texts("ru"), booker, frozenset({OWNER.id}))
    now = desk.clock.now()
    with pytest.raises(NotYours):
        await actions.confirm(visit.id, PETYA.id, now)
    with pytest.raises(NotYours):
        await actions.mark_lost(visit.lead_id, "x", PETYA.id, now)
    with pytest.raises(NoAccess):
        await actions.cancel(visit.id, "client", ANNA.id, now)
    assert (await Appointment.get(id=visit.id)).status == "pending"
    assert await actions.confirm(visit.id, OWNER.id, now) is not None


# --- the owner's «Передать» ------------------------------------------------------------------


async def test_the_owner_hands_a_lead_to_another_manager(desk: Desk):
    visit = await claimed_by_masha(desk)
    desk.say(OWNER, "/lead 1")
    card = await desk.card(OWNER)
    desk.tap(OWNER, "↪ Передать", card)
    picker = await desk.sees(OWNER, "Кому передать заявку #1?")
    names = [b["text"] for row in picker["reply_markup"]["inline_keyboard"] for b in row]
    assert names == ["Петя"], "the active managers but the holder"
    desk.tap(OWNER, "Петя", picker)

    await desk.sees(OWNER, "Заявка #1 передана: Петя")
    notice = await desk.sees(PETYA, "Владелец передал вам заявку #1")
    assert "Ксения" in notice["text"]
    await desk.sees(MASHA, "Заявку #1 передали сотруднику Петя")
    lead = await Lead.get(id=visit.lead_id)
    event = await LeadEvent.get(lead_id=lead.id, kind="handover")
    assert lead.manager_id == PETYA.id
    assert (event.actor, event.note, event.at) == (
        f"staff:{OWNER.id}",
        f"from:{MASHA.id} to:{PETYA.id}",
        desk.clock.now(),
    )
    assert await Outbox.filter(kind="notice", chat_id=str(PETYA.id), lead_id=1).count() == 1
    conv = await Conversation.get(chat_id=str(KSENIA.id))
    assert conv.relay_staff_id == PETYA.id, "the client's messages now reach Петя"

    # Петя acts on it now; Маша sees it read-only
    assert await act(desk, PETYA, "confirm", visit) is None
    assert (await Appointment.get(id=visit.id)).status == "confirmed"
    assert "закреплена за другим" in (await act(desk, MASHA, "lost", visit) or "")
    desk.client_says("Спасибо!")
    await desk.sees(PETYA, "#1 Ксения: Спасибо!")


@pytest.mark.parametrize("who", ["claimer", "other manager", "master"])
async def test_only_an_owner_hands_over(desk: Desk, who: str):
    await claimed_by_masha(desk)
    member = await StaffMember.get(telegram_id=PETYA.id)
    before = await db_rows()
    user = ACTORS[who]
    for data in ("a|handover:1", HandTo(lead_id=1, member_id=member.id).pack()):
        answer = await desk.answer(desk.api.press_button(STAFF, user, data, strict=False))
        assert answer.params.get("show_alert") is True and "Нет доступа" in answer.params["text"]
    await desk.settle()
    assert await db_rows() == before
    assert (await Lead.get(id=1)).manager_id == MASHA.id
