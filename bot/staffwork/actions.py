"""The staff buttons' payloads, typed and declared once; channel-neutral (the core builds them).

Each action packs to `"<prefix>:<id>[:<more>]"`, the very strings the staff buttons carried
before they were typed, so cards already queued in the outbox are still understood. On the
way back `unpack` validates every part; anything else is `None` and must be answered as a
stale button, never trusted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from bot.booking.slots import Slot
from scenarios.keyboards import parse_slot_action, slot_action

MAX_PACKED = 64  # Telegram's callback_data limit, in bytes (the tightest channel's)
LOST_REASONS = ("expensive", "time", "competitor", "no_answer", "other")
CANCEL_REASONS = ("client", "master", "duplicate", "other")
CALL_OUTCOMES = ("booked", "later", "no_answer", "refused")
NO_TIME = dt.datetime.min.replace(tzinfo=dt.UTC)  # dataclass default only; unpack sets it


@dataclass(frozen=True)
class Action:
    """A button about one record: the prefix names the action, `id` the lead or visit."""

    prefix: ClassVar[str] = ""
    id: int

    def pack(self) -> str:
        return f"{self.prefix}:{self.id}"

    @classmethod
    def parse(cls, rest: list[str]) -> Action | None:
        return cls(int(rest[0])) if len(rest) == 1 and _is_id(rest[0]) else None


@dataclass(frozen=True)
class Claim(Action):
    prefix = "claim"


@dataclass(frozen=True)
class Confirm(Action):
    prefix = "confirm"


@dataclass(frozen=True)
class CancelAsk(Action):
    prefix = "cancel"


@dataclass(frozen=True)
class MoveAsk(Action):
    prefix = "move"


@dataclass(frozen=True)
class Dialog(Action):
    prefix = "dialog"


@dataclass(frozen=True)
class LostAsk(Action):
    prefix = "lost"


@dataclass(frozen=True)
class Came(Action):
    prefix = "came"


@dataclass(frozen=True)
class Paid(Action):
    prefix = "paid"


@dataclass(frozen=True)
class NoShow(Action):
    prefix = "noshow"


@dataclass(frozen=True)
class Handover(Action):
    prefix = "handover"


@dataclass(frozen=True)
class CallBack(Action):
    """«Перезвонить» on a missed call's or a form's card (bot/staffwork/intake.py)."""

    prefix = "cb"


@dataclass(frozen=True)
class CalledAsk(Action):
    """«Перезвонил»: asks how the call ended."""

    prefix = "called"


@dataclass(frozen=True)
class RefundDeposit(Action):
    """«Вернуть предоплату» (owners, /deposits): the deposit's id; the amount is the database's."""

    prefix = "deprefund"


@dataclass(frozen=True)
class Reasoned(Action):
    """An id and one reason from a fixed list (no free text rides on a button)."""

    reasons: ClassVar[tuple[str, ...]] = ()
    reason: str = ""

    def pack(self) -> str:
        return f"{self.prefix}:{self.id}:{self.reason}"

    @classmethod
    def parse(cls, rest: list[str]) -> Action | None:
        if len(rest) == 2 and _is_id(rest[0]) and rest[1] in cls.reasons:
            return cls(int(rest[0]), rest[1])
        return None


@dataclass(frozen=True)
class CancelReason(Reasoned):
    prefix = "cr"
    reasons = CANCEL_REASONS


@dataclass(frozen=True)
class LostReason(Reasoned):
    prefix = "lr"
    reasons = LOST_REASONS


@dataclass(frozen=True)
class CalledOutcome(Reasoned):
    prefix = "co"
    reasons = CALL_OUTCOMES


@dataclass(frozen=True)
class MoveTo(Action):
    """A visit moved to a slot: the master and the start; the length is the visit's own."""

    prefix = "mv"
    master_id: str = ""
    start: dt.datetime = NO_TIME

    def pack(self) -> str:
        return (
            f"{self.prefix}:{self.id}:{slot_action(Slot(self.start, self.start, self.master_id))}"
        )

    @classmethod
    def parse(cls, rest: list[str]) -> Action | None:
        picked = parse_slot_action(":".join(rest[1:])) if rest and _is_id(rest[0]) else None
        return cls(int(rest[0]), *picked) if picked else None


ACTIONS: dict[str, type[Action]] = {
    a.prefix: a
    for a in (
        Claim,
        Confirm,
        CancelAsk,
        CancelReason,
        MoveAsk,
        MoveTo,
        Dialog,
        LostAsk,
        LostReason,
        Came,
        Paid,
        NoShow,
        Handover,
        CallBack,
        CalledAsk,
        CalledOutcome,
        RefundDeposit,
    )
}


def unpack(data: str) -> Action | None:
    """The action a button carried, or None when it is unknown, malformed or too long."""
    if len(data.encode()) > MAX_PACKED:
        return None
    prefix, *rest = data.split(":")
    kind = ACTIONS.get(prefix)
    return kind.parse(rest) if kind else None


def is_staff_action(data: str) -> bool:
    """Whether the data claims to be a staff action (by its prefix), valid or not."""
    return data.partition(":")[0] in ACTIONS


def _is_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18
