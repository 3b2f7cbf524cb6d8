"""Button layouts of the client dialogue, channel-neutral (adapters render them)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from bot.booking.slots import Slot
from bot.config import BusinessConfig, Service
from bot.i18n import Texts
from scenarios.actions import (
    Action,
    CancelVisit,
    PickAddon,
    PickDay,
    PickService,
    PickSlot,
    Tap,
    unpack,
)
from scenarios.parsing import TimeWish
from scenarios.ports import BookingInfo
from scenarios.types import Button

Rows = tuple[tuple[Button, ...], ...]
# A layout that depends on the catalog alone is made once per Texts (buttons are frozen).
_per_catalog = functools.lru_cache(maxsize=16)


def _button(text: str, action: Action) -> Button:
    return Button(text, action.pack())


def _rows(buttons: Sequence[Button], per_row: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def _nav(t: Texts, *extra: Button) -> tuple[Button, ...]:
    return (_button(t("btn.back"), Tap.BACK), *extra)


def consent(t: Texts, policy_url: str) -> Rows:
    return (
        (_button(t("btn.agree"), Tap.CONSENT_YES),),
        (Button(t("btn.policy"), url=policy_url), _button(t("btn.disagree"), Tap.CONSENT_NO)),
    )


def services(t: Texts, config: BusinessConfig) -> Rows:
    buttons = [_button(s.title, PickService(s.id)) for s in config.services]
    return (*_rows(buttons, 2), (_button(t("btn.human"), Tap.HUMAN),))


def which(t: Texts, choices: Sequence[Service]) -> Rows:
    """The services the client's words fit, to pick one; «Назад» to the whole list."""
    buttons = [_button(s.title, PickService(s.id)) for s in choices]
    return (*_rows(buttons, 1), _nav(t))


def addons(t: Texts, service: Service) -> Rows:
    buttons = [
        _button(t("btn.addon", title=a.title, price=t.money(int(a.price * 100))), PickAddon(a.id))
        for a in service.addons
    ]
    return (*_rows(buttons, 1), (_button(t("btn.no_addon"), Tap.NO_ADDON),), _nav(t))


@_per_catalog
def time_choices(t: Texts) -> Rows:
    return (
        (_button(t("btn.today"), Tap.TODAY), _button(t("btn.tomorrow"), Tap.TOMORROW)),
        (_button(t("btn.week"), Tap.WEEK), _button(t("btn.pick_day"), Tap.PICK_DAY)),
        _nav(t),
    )


def days(t: Texts, choices: Sequence[dt.date]) -> Rows:
    buttons = [_button(t.short_day(d), PickDay(d)) for d in choices]
    return (*_rows(buttons, 3), _nav(t))


def wish_from_button(action: Action, today: dt.date) -> TimeWish | None:
    """The time window a «Сегодня» / «Завтра» / «На этой неделе» / day button means."""
    match action:
        case Tap.TODAY:
            return TimeWish(today, today)
        case Tap.TOMORROW:
            tomorrow = today + dt.timedelta(days=1)
            return TimeWish(tomorrow, tomorrow)
        case Tap.WEEK:
            return TimeWish(today, today + dt.timedelta(days=6 - today.weekday()))
        case PickDay(day):
            return TimeWish(day, day)
    return None


def slot_action(slot: Slot) -> str:
    """The payload of a slot's button (the staff bot's move picker offers the same)."""
    return PickSlot(slot.master_id, slot.start).pack()


def parse_slot_action(action: str) -> tuple[str, dt.datetime] | None:
    """The master and start a slot payload names; None for anything else."""
    match unpack(action):
        case PickSlot(master_id, start):
            return master_id, start
    return None


def slot_button(label: str, slot: Slot) -> Button:
    return _button(label, PickSlot(slot.master_id, slot.start))


def slots(t: Texts, buttons: Sequence[Button], has_more: bool, wait: bool = False) -> Rows:
    """The slots' buttons (`slot_button`); `wait`: nothing fit the wish, so «Лист
    ожидания» is offered too."""
    nav = _nav(t, _button(t("btn.other_time"), Tap.RETIME))
    more = ((_button(t("btn.more"), Tap.MORE),),) if has_more else ()
    return (*_rows(buttons, 2), *more, *_wait(t, wait), nav)


def no_slots(t: Texts, wait: bool = False) -> Rows:
    first = (_button(t("btn.other_time"), Tap.RETIME), _button(t("btn.human"), Tap.HUMAN))
    return (first, *_wait(t, wait), _nav(t))


def _wait(t: Texts, wait: bool) -> Rows:
    return ((_button(t("waitlist.btn_join"), Tap.WAIT_JOIN),),) if wait else ()


def _nav_restart(t: Texts) -> tuple[Button, ...]:
    return _nav(t, _button(t("btn.restart"), Tap.RESTART))


@_per_catalog
def contact(t: Texts) -> Rows:
    """Shown with the channel's share-my-phone control (Telegram: as reply-keyboard text)."""
    return (_nav_restart(t),)


def name(t: Texts, channel_name: str | None) -> Rows:
    if not channel_name:
        return (_nav_restart(t),)
    return ((_button(t("btn.name_me", name=channel_name[:30]), Tap.NAME_ME),), _nav_restart(t))


@_per_catalog
def summary(t: Texts) -> Rows:
    return (
        (_button(t("btn.confirm"), Tap.CONFIRM),),
        _nav_restart(t),
    )


@_per_catalog
def after_booking(t: Texts) -> Rows:
    return ((_button(t("btn.my"), Tap.MY), _button(t("btn.again"), Tap.AGAIN)),)


def cancel_buttons(t: Texts, bookings: Sequence[BookingInfo], tz: dt.tzinfo) -> Rows:
    return tuple(
        (
            _button(
                t("btn.cancel_booking", when=f"{b.start.astimezone(tz):%d.%m %H:%M}"),
                CancelVisit(b.id),
            ),
        )
        for b in bookings
    )


@_per_catalog
def forget(t: Texts) -> Rows:
    return (
        (_button(t("btn.forget_yes"), Tap.FORGET_YES), _button(t("btn.forget_no"), Tap.FORGET_NO)),
    )
