"""An owner's refund from the staff bot: the role is checked here, on every use (a button
can be forwarded or forged), and the amount is always the deposit's own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.i18n import Texts
from bot.models import Appointment, StaffRole
from bot.payments.models import Deposit, DepositStatus
from bot.payments.settle import owe_back
from bot.staffwork.access import NoAccess
from bot.staffwork.staff import role_of

LISTED = 10


@dataclass(frozen=True)
class Refundable:
    id: int
    amount_kop: int
    status: str
    start: dt.datetime | None  # the visit's


async def refundable(limit: int = LISTED) -> list[Refundable]:
    """The newest deposits an owner may give back: paid, or kept after a late cancel."""
    owed = (DepositStatus.PAID, DepositStatus.KEPT)
    rows = await Deposit.filter(status__in=owed).order_by("-paid_at", "-id").limit(limit)
    visits = Appointment.filter(id__in=[d.appointment_id for d in rows])
    starts = dict(await visits.values_list("id", "start"))
    return [Refundable(d.id, d.amount_kop, d.status, starts.get(d.appointment_id)) for d in rows]


async def check_owner(staff_id: int, owner_ids: frozenset[int]) -> None:
    if await role_of(staff_id, owner_ids) is not StaffRole.OWNER:
        raise NoAccess()


async def owner_refund(
    deposit_id: int, staff_id: int, owner_ids: frozenset[int], texts: Texts, now: dt.datetime
) -> bool:
    """Owe the deposit back in full (the timed work asks YooKassa); True when this did it."""
    await check_owner(staff_id, owner_ids)
    deposit = await Deposit.get_or_none(id=deposit_id)
    return deposit is not None and await owe_back(deposit.appointment_id, texts, now)
