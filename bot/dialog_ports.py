"""The scenario's read-only views of one client (scenarios.ports): bookings and deposits."""

from __future__ import annotations

import datetime as dt

from bot.config import BusinessConfig
from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment
from bot.payments.holds import quote_for
from bot.payments.rules import Quote
from scenarios.ports import BookingInfo


class ClientBookings:
    """The scenario's read-only view of one client's bookings."""

    def __init__(
        self,
        client_id: int | None,
        now: dt.datetime,
        booked: dict[int, Appointment] | None = None,
    ) -> None:
        self.client_id = client_id
        self.now = now
        self.booked = (
            booked if booked is not None else {}
        )  # visits this step booked: no need to read them back

    async def upcoming(self) -> list[BookingInfo]:
        if self.client_id is None:
            return []
        rows = await Appointment.filter(
            client_id=self.client_id, status__in=ACTIVE_APPOINTMENT_STATUSES, start__gt=self.now
        ).order_by("start")
        return [_info(a) for a in rows]

    async def get(self, appointment_id: int) -> BookingInfo | None:
        if self.client_id is None:
            return None
        row = self.booked.get(appointment_id)
        if row is not None and row.client_id == self.client_id:
            return _info(row)
        row = await Appointment.get_or_none(id=appointment_id, client_id=self.client_id)
        return _info(row) if row else None


def _info(a: Appointment) -> BookingInfo:
    return BookingInfo(
        a.id,
        a.service_id,
        a.master_id,
        a.start,
        a.price_kop,
        pending=a.status == "pending",
        addon_ids=tuple(a.addon_ids),
    )


class ClientDeposits:
    """The scenario's view of the deposit the current client's booking would need."""

    def __init__(self, config: BusinessConfig, client_id: int | None) -> None:
        self.config, self.client_id = config, client_id

    async def quote(self, service_id: str, price_kop: int, start: dt.datetime) -> Quote | None:
        return await quote_for(self.config, service_id, price_kop, start, self.client_id)
