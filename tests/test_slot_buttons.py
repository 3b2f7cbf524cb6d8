"""A slot's button is made once per catalog and config (scenarios.views.slot_buttons): a page
found anew shows mostly the slots shown before. A button kept for one locale, zone or set of
masters' names must never be shown under another; each check below fails on a memo that
misses one of them."""

from __future__ import annotations

import datetime as dt

from bot.booking.booker import SlotPage
from bot.booking.slots import Slot
from bot.i18n import Texts
from scenarios.actions import PickSlot
from scenarios.ports import Deps
from scenarios.state import DialogState, Step
from scenarios.views import slots_reply

TUESDAY = dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)  # 11:00 in Samara


class _FreshPages:
    """A slot finder that finds each page anew (no page memo: only the buttons' memo)."""

    def __init__(self, slots: list[Slot]) -> None:
        self.slots = slots

    async def find(self, *_: object) -> SlotPage:
        return SlotPage(list(self.slots), False, True)


async def _buttons(config, texts, clock, slots) -> list[tuple[str, str]]:
    state = DialogState(step=Step.SLOT, service_id="manicure")
    reply = await slots_reply(state, Deps(config, texts, clock, _FreshPages(slots), None), False)
    return [(b.text, b.action) for row in reply.buttons for b in row if b.action.startswith("slot")]


async def test_a_slots_button_follows_the_locale_the_names_and_the_zone(config, clock):
    slot = Slot(TUESDAY, TUESDAY + dt.timedelta(hours=1), "anna")
    payload = PickSlot("anna", TUESDAY).pack()
    ru, en = Texts("ru"), Texts("en")
    assert await _buttons(config, ru, clock, [slot]) == [("вт 24.11 11:00 · Анна", payload)]
    assert await _buttons(config, en, clock, [slot]) == [("Tue 24.11 11:00 · Анна", payload)]
    assert await _buttons(config, ru, clock, [slot]) == [("вт 24.11 11:00 · Анна", payload)]
    renamed = config.model_copy(
        update={"masters": [m.model_copy(update={"name": "Anna"}) for m in config.masters]}
    )
    assert await _buttons(renamed, en, clock, [slot]) == [("Tue 24.11 11:00 · Anna", payload)]
    moved = config.model_copy(
        update={"business": config.business.model_copy(update={"timezone": "Europe/Moscow"})}
    )
    assert await _buttons(moved, ru, clock, [slot]) == [("вт 24.11 10:00 · Анна", payload)]
    assert await _buttons(config, en, clock, [slot]) == [("Tue 24.11 11:00 · Анна", payload)]


async def test_each_slot_gets_its_own_button(config, clock):
    """Same start, another master; same master, another start: never each other's button."""
    masters = [m.id for m in config.masters][:2]
    later = TUESDAY + dt.timedelta(minutes=30)
    slots = [
        Slot(TUESDAY, TUESDAY + dt.timedelta(hours=1), masters[0]),
        Slot(TUESDAY, TUESDAY + dt.timedelta(hours=1), masters[1]),
        Slot(later, later + dt.timedelta(hours=1), masters[0]),
    ]
    ru = Texts("ru")
    for _ in range(2):  # made, then kept
        shown = await _buttons(config, ru, clock, slots)
        assert [a for _, a in shown] == [PickSlot(s.master_id, s.start).pack() for s in slots]
        names = [config.master(s.master_id).name for s in slots]
        times = ["11:00", "11:00", "11:30"]
        assert [t for t, _ in shown] == [
            f"вт 24.11 {time} · {name}" for time, name in zip(times, names, strict=True)
        ]
