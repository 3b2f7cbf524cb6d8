"""What a scenario is given: the config, texts, time and read-only views of the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.clock import Clock
from bot.config import BusinessConfig
from bot.i18n import Texts
from scenarios.types import Understanding

if TYPE_CHECKING:
    from bot.booking.booker import SlotPage
    from bot.payments.rules import Quote


class SlotFinder(Protocol):
    async def find(
        self,
        service_id: str,
        addon_ids: Sequence[str],
        day_from: dt.date,
        day_to: dt.date,
        after: dt.time | None,
        before: dt.time | None,
        exact: dt.time | None,
        offset: int,
        limit: int,
    ) -> SlotPage: ...


@dataclass(frozen=True)
class BookingInfo:
    id: int
    service_id: str
    master_id: str
    start: dt.datetime  # aware UTC
    price_kop: int
    pending: bool
    addon_ids: tuple[str, ...] = ()


class BookingsView(Protocol):
    async def upcoming(self) -> list[BookingInfo]:
        """The current client's future, not cancelled bookings."""
        ...

    async def get(self, appointment_id: int) -> BookingInfo | None: ...


class DepositView(Protocol):
    async def quote(self, service_id: str, price_kop: int, start: dt.datetime) -> Quote | None:
        """The deposit the current client's booking would need, or None."""
        ...


class Understander(Protocol):
    """Reads one free-text message; the runner calls it before the scenario runs (it may
    ask a model, so it must not run inside a database transaction)."""

    async def understand(self, text: str, step: str, now: dt.datetime) -> Understanding:
        """`now` is local business time; every id and window in the result is valid."""
        ...

    def follow(self, config: BusinessConfig) -> None:
        """The business as the owner's catalog edits make it (called when they change)."""
        ...


@dataclass(frozen=True)
class Deps:
    config: BusinessConfig
    texts: Texts
    clock: Clock
    slots: SlotFinder
    bookings: BookingsView
    deposits: DepositView | None = None  # None: no payments set up, the deposit is paid on site

    def local_now(self) -> dt.datetime:
        return self.clock.now().astimezone(self.config.tz)
