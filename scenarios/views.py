"""What the client is shown of a booking: free slots, summary, confirmation, list line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.booking.slots import Slot
from bot.config import BusinessConfig, Service
from bot.i18n import Texts
from scenarios import keyboards as kb
from scenarios.parsing import TimeWish
from scenarios.ports import BookingInfo, Deps
from scenarios.state import DialogState, wish_to_dict
from scenarios.types import Button, Reply

if TYPE_CHECKING:
    from bot.booking.booker import SlotPage
    from bot.payments.rules import Quote

SLOT_BUTTONS_KEPT = 5_000  # per catalog and config: a horizon's starts for every master
CONFIGS_KEPT = 8  # catalogs (locales) and configs whose slot buttons are kept
_SLOT_BUTTONS: dict[tuple[int, int], tuple[Texts, BusinessConfig, dict]] = {}


def service_of(state: DialogState, deps: Deps) -> Service:
    service = deps.config.service(state.service_id or "")
    if service is None:  # the config changed under a stored dialogue
        raise LookupError(f"service '{state.service_id}' is no longer in the config")
    return service


def master_name(master_id: str, deps: Deps) -> str:
    master = deps.config.master(master_id)
    return master.name if master else master_id


def deposit_line(service: Service | None, deps: Deps) -> str:
    """«Предоплата: 1 000 ₽» on a line of its own, or nothing: the amount is the config's."""
    kopecks = int(service.deposit * 100) if service else 0
    if kopecks <= 0:
        return ""
    return "\n" + deps.texts("dialog.deposit_line", amount=deps.texts.money(kopecks))


def rule_line(found: Quote, deps: Deps) -> str:
    """The deposit, the rule that asks for it and the refund policy, on lines of their own."""
    t = deps.texts
    return "\n" + t(
        "payments.summary_line",
        amount=t.money(found.amount_kop),
        why=t(f"payments.rule_{found.rule}"),
        hours=found.refund_cutoff_hours,
        minutes=found.hold_minutes,
    )


async def deposit_quote(state: DialogState, deps: Deps, price_kop: int) -> Quote | None:
    if deps.deposits is None or state.slot_start is None or state.service_id is None:
        return None
    if state.moving is not None:  # a move keeps the visit's standing: nothing new to pay
        return None
    return await deps.deposits.quote(state.service_id, price_kop, state.slot_start)


async def summary_text(state: DialogState, deps: Deps) -> str:
    t, config = deps.texts, deps.config
    service = service_of(state, deps)
    addons = [a for a in service.addons if a.id in state.addon_ids]
    price = service.price + sum(a.price for a in addons)
    start = state.slot_start
    assert start is not None
    found = await deposit_quote(state, deps, int(price * 100))
    return t(
        "summary",
        service=service.title + "".join(f" + {a.title}" for a in addons),
        master=master_name(state.master_id or "", deps),
        when=t.moment(start.astimezone(config.tz)),
        price=t.money(int(price * 100)),
        deposit=rule_line(found, deps) if found else deposit_line(service, deps),
        name=state.name or "",
        phone=state.phone or "",
        address=config.business.address,
    )


def booking_line(info: BookingInfo, deps: Deps) -> str:
    t, config = deps.texts, deps.config
    service = config.service(info.service_id)
    return t(
        "booking_line",
        when=t.moment(info.start.astimezone(config.tz)),
        service=service.title if service else info.service_id,
        master=master_name(info.master_id, deps),
        status=t("status_pending") if info.pending else t("status_confirmed"),
    )


def booking_text(key: str, info: BookingInfo, deps: Deps) -> str:
    t, config = deps.texts, deps.config
    service = config.service(info.service_id)
    return t(
        key,
        when=t.moment(info.start.astimezone(config.tz)),
        service=service.title if service else info.service_id,
        master=master_name(info.master_id, deps),
        price=t.money(info.price_kop),
        deposit=deposit_line(service, deps),
        address=config.business.address,
    )


async def slots_reply(state: DialogState, deps: Deps, edit: bool) -> Reply:
    t, config = deps.texts, deps.config
    wish = state.time_wish
    today = deps.local_now().date()
    if wish is None:
        wish = TimeWish(today, today + dt.timedelta(days=config.booking.horizon_days))
    per_page = config.booking.slots_per_page
    page = await deps.slots.find(
        service_of(state, deps).id,
        state.addon_ids,
        wish.day_from,
        wish.day_to,
        wish.after,
        wish.before,
        wish.exact,
        state.page * per_page,
        per_page,
    )
    if page.from_start:  # the list shrank under the client's paging: its first page now
        state.page = 0
    if not page.matches_wish:
        # Nothing fit: from now on page through the nearest slots instead, and keep the
        # wish itself for the waitlist.
        state.time_wish = TimeWish(wish.day_from, today + dt.timedelta(config.booking.horizon_days))
        state.page = 0
        state.wait_wish = wish_to_dict(wish)
    wait = can_wait(state, deps) and not page.matches_wish
    if not page.slots:
        return Reply(t("no_slots", phone=config.business.phone), kb.no_slots(t, wait), edit=edit)
    header, rows = _rendered(page, wait, deps)
    return Reply(header, rows, edit=edit)


def _rendered(page: SlotPage, wait: bool, deps: Deps) -> tuple[str, kb.Rows]:
    """The page's header and buttons, made once per locale and config: a page kept by the
    slot finder (bot.booking.slot_pages) is shown to many clients as it is."""
    t, config = deps.texts, deps.config
    kept = page.rendered.get((t, wait))
    if kept is not None and kept[0] is config:  # the masters' names and the zone as shown
        return kept[1], kept[2]
    header = t("slots") if page.matches_wish else t("slots_nearest")
    rows = kb.slots(t, slot_buttons(page.slots, deps), page.has_more, wait)
    page.rendered[t, wait] = (config, header, rows)
    return header, rows


def slot_buttons(slots: Sequence[Slot], deps: Deps) -> list[Button]:
    """«Пн 01.06 10:00 · Анна» per slot, with its payload. A page found anew (after every
    booking touching its masters) shows mostly the slots shown before: each slot's button
    is made once per locale and config (the zone and the masters' names it shows)."""
    made = _slot_buttons_of(deps.texts, deps.config)
    buttons = []
    for slot in slots:
        button = made.get((slot.master_id, slot.start))
        if button is None:
            button = made[slot.master_id, slot.start] = _slot_button(slot, deps)
        buttons.append(button)
    if len(made) > SLOT_BUTTONS_KEPT:
        made.clear()
    return buttons


def _slot_button(slot: Slot, deps: Deps) -> Button:
    t = deps.texts
    local = slot.start.astimezone(deps.config.tz)
    time = f"{local.hour:02d}:{local.minute:02d}"
    master = master_name(slot.master_id, deps)
    label = t("slot_label", when=t.short_day(local.date()), time=time, master=master)
    return kb.slot_button(label, slot)


def _slot_buttons_of(t: Texts, config: BusinessConfig) -> dict[tuple[str, dt.datetime], Button]:
    """The buttons made for this very catalog and config (compared by identity: a catalog
    edit brings a new config, so its buttons are made anew)."""
    kept = _SLOT_BUTTONS.get((id(t), id(config)))
    if kept is None or kept[0] is not t or kept[1] is not config:
        if len(_SLOT_BUTTONS) >= CONFIGS_KEPT:
            _SLOT_BUTTONS.clear()
        kept = _SLOT_BUTTONS[id(t), id(config)] = (t, config, {})
    return kept[2]


def can_wait(state: DialogState, deps: Deps) -> bool:
    """The waitlist is for new bookings of consented clients, when the business keeps one."""
    return deps.config.waitlist.enabled and state.consented and state.moving is None
