"""The dialogue's stored state: plain data that round-trips through the database as JSON."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from enum import StrEnum

from scenarios.parsing import TimeWish


class Step(StrEnum):
    """Where the dialogue stands; stored as its value."""

    GREETING = "greeting"
    CONSENT = "consent"
    SERVICE = "service"
    WHICH = "which"  # the client's words fit several services: which one
    ADDON = "addon"
    TIME = "time"
    PICK_DAY = "pick_day"
    SLOT = "slot"
    CONTACT = "contact"
    NAME = "name"
    SUMMARY = "summary"
    DONE = "done"
    FORGET = "forget"


@dataclass
class DialogState:
    step: Step = Step.GREETING
    history: list[str] = field(default_factory=list)
    consented: bool = False
    source: str | None = None
    campaign: str | None = None
    lead_open: bool = False
    service_id: str | None = None
    choices: list[str] = field(default_factory=list)  # services to choose from at WHICH
    addon_ids: list[str] = field(default_factory=list)
    wish: dict | None = None
    page: int = 0
    master_id: str | None = None
    start: str | None = None  # ISO, UTC
    end: str | None = None
    phone: str | None = None
    name: str | None = None
    channel_name: str | None = None
    misses: int = 0
    moving: int | None = None  # the appointment being moved from its reminder
    intel: list[str] | None = None  # the lead intelligence last written: intent, warmth, summary
    wait_wish: dict | None = None  # the wish nothing fit, kept for «Лист ожидания»
    saved_contact: list[str] | None = None  # the name and phone last written to the client

    def to_dict(self) -> dict:
        # A shallow copy with fresh lists: dataclasses.asdict deep-copies, and this runs
        # on every message.
        data = dict(self.__dict__)
        data["history"], data["addon_ids"] = list(self.history), list(self.addon_ids)
        data["choices"] = list(self.choices)
        data["wish"] = dict(self.wish) if self.wish else None
        data["wait_wish"] = dict(self.wait_wish) if self.wait_wish else None
        data["saved_contact"] = list(self.saved_contact) if self.saved_contact else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> DialogState:
        # Runs on every message: the field names are known once, and a state written by
        # this version (all of them) needs no filtering.
        known = _FIELD_NAMES
        state = cls(**(data if data.keys() <= known else {k: data[k] for k in data if k in known}))
        step = _STEPS.get(state.step) if isinstance(state.step, str) else None
        if step is None:  # a step this version no longer has: start over
            step = Step.GREETING
        state.step = step
        return state

    def go(self, step: Step) -> None:
        """Move forward, remembering where we came from for «Назад»."""
        if step != self.step:
            self.history.append(self.step)
            self.history = self.history[-12:]
        self.step = step

    def back(self) -> Step:
        """One question back; the first question (or the consent, before it) at the start."""
        first = Step.SERVICE if self.consented else Step.CONSENT
        self.step = Step(self.history.pop()) if self.history else first
        return self.step

    def reset_booking(self) -> None:
        """Forget the booking in progress; keep consent, contact and source."""
        self.service_id, self.addon_ids, self.wish, self.page = None, [], None, 0
        self.choices = []
        self.master_id = self.start = self.end = None
        self.history, self.misses, self.moving = [], 0, None
        self.wait_wish = None

    @property
    def time_wish(self) -> TimeWish | None:
        return wish_from_dict(self.wish) if self.wish else None

    @time_wish.setter
    def time_wish(self, wish: TimeWish | None) -> None:
        self.wish = wish_to_dict(wish) if wish else None
        self.wait_wish = None  # a new wish: whether it fits is yet to be seen

    @property
    def slot_start(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.start) if self.start else None

    @property
    def slot_end(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.end) if self.end else None


_FIELD_NAMES = frozenset(f.name for f in fields(DialogState))
_STEPS: dict[object, Step] = {**{s.value: s for s in Step}, **{s: s for s in Step}}


def wish_to_dict(wish: TimeWish) -> dict:
    """The wish as stored: field by field (dataclasses.asdict deep-copies, 30 µs a wish)."""
    return {
        "day_from": wish.day_from.isoformat(),
        "day_to": wish.day_to.isoformat(),
        "after": _iso(wish.after),
        "before": _iso(wish.before),
        "exact": _iso(wish.exact),
    }


def _iso(moment: dt.time | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def wish_from_dict(data: dict) -> TimeWish:
    def day(v: str) -> dt.date:
        return dt.date.fromisoformat(v)

    def time(v: str | None) -> dt.time | None:
        return dt.time.fromisoformat(v) if v else None

    return TimeWish(
        day_from=day(data["day_from"]),
        day_to=day(data["day_to"]),
        after=time(data.get("after")),
        before=time(data.get("before")),
        exact=time(data.get("exact")),
    )
