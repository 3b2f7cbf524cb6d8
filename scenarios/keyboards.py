"""Button layouts of the client dialogue, channel-neutral (adapters render them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.config import BusinessConfig, Service
from bot.i18n import Texts
from bot.slots import Slot
from scenarios.parsing import TimeWish
from scenarios.ports import BookingInfo
from scenarios.types import Button

Rows = tuple[tuple[Button, ...], ...]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _rows(buttons: Sequence[Button], per_row: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def _nav(t: Texts, *extra: Button) -> tuple[Button, ...]:
    return (Button(t("btn.back"), "back"), *extra)


def consent(t: Texts, policy_url: str) -> Rows:
    return (
        (Button(t("btn.agree"), "consent:yes"),),
        (Button(t("btn.policy"), url=policy_url), Button(t("btn.disagree"), "consent:no")),
    )


def services(t: Texts, config: BusinessConfig) -> Rows:
    buttons = [Button(s.title, f"svc:{s.id}") for s in config.services]
    return (*_rows(buttons, 2), (Button(t("btn.human"), "human"),))


def which(t: Texts, choices: Sequence[Service]) -> Rows:
    """The services the client's words fit, to pick one; «Назад» to the whole list."""
    buttons = [Button(s.title, f"svc:{s.id}") for s in choices]
    return (*_rows(buttons, 1), _nav(t))


def addons(t: Texts, service: Service) -> Rows:
    buttons = [
        Button(t("btn.addon", title=a.title, price=t.money(int(a.price * 100))), f"addon:{a.id}")
        for a in service.addons
    ]
    return (*_rows(buttons, 1), (Button(t("btn.no_addon"), "addon:none"),), _nav(t))


def time_choices(t: Texts) -> Rows:
    return (
        (Button(t("btn.today"), "when:today"), Button(t("btn.tomorrow"), "when:tomorrow")),
        (Button(t("btn.week"), "when:week"), Button(t("btn.pick_day"), "when:pick")),
        _nav(t),
    )


def days(t: Texts, choices: Sequence[dt.date]) -> Rows:
    buttons = [Button(t.short_day(d), f"day:{d.isoformat()}") for d in choices]
    return (*_rows(buttons, 3), _nav(t))


def wish_from_button(action: str, today: dt.date) -> TimeWish | None:
    """The time window a «Сегодня» / «Завтра» / «На этой неделе» / day button means."""
    match action.split(":"):
        case ["when", "today"]:
            return TimeWish(today, today)
        case ["when", "tomorrow"]:
            tomorrow = today + dt.timedelta(days=1)
            return TimeWish(tomorrow, tomorrow)
        case ["when", "week"]:
            return TimeWish(today, today + dt.timedelta(days=6 - today.weekday()))
        case ["day", iso]:
            try:
                day = dt.date.fromisoformat(iso)
            except ValueError:
                return None
            return TimeWish(day, day)
    return None


def slot_action(slot: Slot) -> str:
    minutes = int((slot.start - _EPOCH).total_seconds() // 60)
    return f"slot:{slot.master_id}:{minutes}"


def parse_slot_action(action: str) -> tuple[str, dt.datetime] | None:
    match action.split(":"):
        case ["slot", master_id, minutes] if minutes.isdigit():
            return master_id, _EPOCH + dt.timedelta(minutes=int(minutes))
    return None


def slots(t: Texts, offered: Sequence[Slot], labels: Sequence[str], has_more: bool) -> Rows:
    buttons = [Button(label, slot_action(s)) for s, label in zip(offered, labels, strict=True)]
    nav = _nav(t, Button(t("btn.other_time"), "retime"))
    more = ((Button(t("btn.more"), "more"),),) if has_more else ()
    return (*_rows(buttons, 2), *more, nav)


def no_slots(t: Texts) -> Rows:
    return ((Button(t("btn.other_time"), "retime"), Button(t("btn.human"), "human")), _nav(t))


def _nav_restart(t: Texts) -> tuple[Button, ...]:
    return _nav(t, Button(t("btn.restart"), "restart"))


def contact(t: Texts) -> Rows:
    """Shown with the channel's share-my-phone control (Telegram: as reply-keyboard text)."""
    return (_nav_restart(t),)


def name(t: Texts, channel_name: str | None) -> Rows:
    if not channel_name:
        return (_nav_restart(t),)
    return ((Button(t("btn.name_me", name=channel_name[:30]), "name:me"),), _nav_restart(t))


def summary(t: Texts) -> Rows:
    return (
        (Button(t("btn.confirm"), "confirm"),),
        _nav_restart(t),
    )


def after_booking(t: Texts) -> Rows:
    return ((Button(t("btn.my"), "my"), Button(t("btn.again"), "again")),)


def cancel_buttons(t: Texts, bookings: Sequence[BookingInfo], tz: dt.tzinfo) -> Rows:
    return tuple(
        (
            Button(
                t("btn.cancel_booking", when=f"{b.start.astimezone(tz):%d.%m %H:%M}"),
                f"cancel:{b.id}",
            ),
        )
        for b in bookings
    )


def forget(t: Texts) -> Rows:
    return ((Button(t("btn.forget_yes"), "forget:yes"), Button(t("btn.forget_no"), "forget:no")),)
