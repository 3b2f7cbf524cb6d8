"""Every button payload of the client dialogue, typed: built once, validated on the way back.

The wire format is the one buttons have always carried (`svc:manicure`, `slot:anna:29420000`),
so buttons already sent to clients and stored WhatsApp menus keep working. A payload comes
back from the client's device, so `unpack` trusts nothing: a malformed or unknown one is None.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

MAX_BYTES = 64  # Telegram's callback_data limit; WhatsApp and MAX ids are bounded too
SEP = ":"
_ID = re.compile(r"[a-z0-9_]{1,16}")  # the catalog's id pattern (bot.config)
_NUMBER = re.compile(r"[1-9][0-9]{0,17}")  # a positive database id
_MINUTES = re.compile(r"[0-9]{1,9}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LAST_MINUTE = int((dt.datetime(2100, 1, 1, tzinfo=dt.UTC) - _EPOCH).total_seconds() // 60)
_TAGGED: dict[str, type[_Tagged]] = {}  # prefix → payload class, filled as they are declared


class Tap(StrEnum):
    """The buttons without an argument: the payload is the value itself."""

    BACK = "back"
    RESTART = "restart"
    HUMAN = "human"
    MY = "my"
    RESUME = "resume"
    RETIME = "retime"
    MORE = "more"
    CONFIRM = "confirm"
    AGAIN = "again"
    NAME_ME = "name:me"
    CONSENT_YES = "consent:yes"
    CONSENT_NO = "consent:no"
    FORGET_YES = "forget:yes"
    FORGET_NO = "forget:no"
    TODAY = "when:today"
    TOMORROW = "when:tomorrow"
    WEEK = "when:week"
    PICK_DAY = "when:pick"
    NO_ADDON = "addon:none"
    WAIT_JOIN = "wait:join"  # nothing fit the wish: join the waitlist for it

    def pack(self) -> str:
        return self.value


@dataclass(frozen=True)
class _Tagged:
    """A payload `<prefix>:<argument>`; subclasses say how the argument is written and read."""

    prefix: ClassVar[str]

    def __init_subclass__(cls, prefix: str = "", **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if prefix:  # a concrete payload: registered for `unpack`
            cls.prefix = prefix
            _TAGGED[prefix] = cls

    def pack(self) -> str:
        packed = SEP.join((self.prefix, self._arg()))
        if len(packed.encode()) > MAX_BYTES:
            raise ValueError(f"{self.prefix} payload exceeds {MAX_BYTES} bytes")
        return packed

    def _arg(self) -> str:
        raise NotImplementedError

    @classmethod
    def _read(cls, arg: str) -> _Tagged | None:
        raise NotImplementedError


@dataclass(frozen=True)
class _CatalogId(_Tagged):
    """A service or add-on of the config, by its id."""

    id: str

    def _arg(self) -> str:
        return self.id

    @classmethod
    def _read(cls, arg: str) -> _CatalogId | None:
        return cls(arg) if _ID.fullmatch(arg) else None


@dataclass(frozen=True)
class _Visit(_Tagged):
    """An appointment, by its database id."""

    appointment_id: int

    def _arg(self) -> str:
        return str(self.appointment_id)

    @classmethod
    def _read(cls, arg: str) -> _Visit | None:
        return cls(int(arg)) if _NUMBER.fullmatch(arg) else None


class PickService(_CatalogId, prefix="svc"):
    """A service of the list (or of the few the client's words fit)."""


class PickAddon(_CatalogId, prefix="addon"):
    """An add-on of the chosen service; «Без дополнений» is `Tap.NO_ADDON`."""


class CancelVisit(_Visit, prefix="cancel"):
    """«Отменить» next to a booking, or under a reminder."""


class ConfirmVisitTap(_Visit, prefix="rconfirm"):
    """«Подтверждаю» under a reminder."""


class MoveVisit(_Visit, prefix="rmove"):
    """«Перенести» under a reminder."""


class RetryHold(_Visit, prefix="rehold"):
    """«Попробовать снова» under «the hold ran out unpaid»: book that slot again (a new hold)."""


@dataclass(frozen=True)
class PickDay(_Tagged, prefix="day"):
    day: dt.date

    def _arg(self) -> str:
        return self.day.isoformat()

    @classmethod
    def _read(cls, arg: str) -> PickDay | None:
        if not _DATE.fullmatch(arg):
            return None
        try:
            return cls(dt.date.fromisoformat(arg))
        except ValueError:
            return None


@dataclass(frozen=True)
class PickSlot(_Tagged, prefix="slot"):
    """A free slot: the master and the start, in whole minutes since the epoch (UTC)."""

    master_id: str
    start: dt.datetime

    def _arg(self) -> str:
        minutes = int((self.start - _EPOCH).total_seconds() // 60)
        return SEP.join((self.master_id, str(minutes)))

    @classmethod
    def _read(cls, arg: str) -> PickSlot | None:
        master_id, _, minutes = arg.partition(SEP)
        if not (_ID.fullmatch(master_id) and _MINUTES.fullmatch(minutes)):
            return None
        if int(minutes) > _LAST_MINUTE:
            return None
        return cls(master_id, _EPOCH + dt.timedelta(minutes=int(minutes)))


@dataclass(frozen=True)
class TakeOffer(_Tagged, prefix="offer"):
    """A visit a schedule change displaced, moved to one of the offered slots
    (bot.booking.reshuffle): the visit, the master and the start in epoch minutes."""

    appointment_id: int
    master_id: str
    start: dt.datetime

    def _arg(self) -> str:
        minutes = int((self.start - _EPOCH).total_seconds() // 60)
        return SEP.join((str(self.appointment_id), self.master_id, str(minutes)))

    @classmethod
    def _read(cls, arg: str) -> TakeOffer | None:
        visit, _, rest = arg.partition(SEP)
        slot = PickSlot._read(rest)
        if not _NUMBER.fullmatch(visit) or slot is None:
            return None
        return cls(int(visit), slot.master_id, slot.start)


@dataclass(frozen=True)
class _Row(_Tagged):
    """A row of ours by its database id; the runner re-checks it is the client's own."""

    id: int

    def _arg(self) -> str:
        return str(self.id)

    @classmethod
    def _read(cls, arg: str) -> _Row | None:
        return cls(int(arg)) if _NUMBER.fullmatch(arg) else None


class TakeSpot(_Row, prefix="wtake"):
    """«Записаться» under a waitlist offer (bot.booking.waitlist): the offer's id. Unlike
    `TakeOffer` the slot is not in the payload: it is read from the offer row, re-validated."""


class LeaveWaitlist(_Row, prefix="wleave"):
    """«Выйти из листа ожидания»: the entry's id."""


Action = (
    Tap
    | PickService
    | PickAddon
    | PickDay
    | PickSlot
    | CancelVisit
    | ConfirmVisitTap
    | MoveVisit
    | RetryHold
    | TakeOffer
    | TakeSpot
    | LeaveWaitlist
)

_TAPS = {t.value: t for t in Tap}


def unpack(data: str) -> Action | None:
    """The action a payload from a client's device names, or None when it names none."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    if tap := _TAPS.get(data):
        return tap
    prefix, sep, arg = data.partition(SEP)
    kind = _TAGGED.get(prefix)
    if kind is None or not sep:
        return None
    return kind._read(arg)  # type: ignore[return-value]


def log_kind(data: str) -> str:
    """What a refused payload claimed to be, safe for a log line: its prefix when that is a
    short ASCII word, else "?" (a payload may carry anything, a phone number too)."""
    prefix = data.partition(SEP)[0]
    return prefix if len(prefix) <= 16 and prefix.isascii() and prefix.isalpha() else "?"
