"""Who may act on a lead now, checked by the services on every use.

A button or a typed reply can come from anyone who ever saw a card (or forged one), so the
role and the lead's holder are read from the database at the moment of the action, not
trusted from the view. After a claim only the holder and the owners act on a lead; other
managers see it read-only. Masters act only on the outcomes of their own visits.
Refusals are exceptions carrying a catalog key, so a channel can answer politely.
"""

from __future__ import annotations

import datetime as dt

from bot.models import Appointment, Lead, StaffMember, StaffRole
from bot.staffwork.leads import lead_of
from bot.staffwork.staff import who

OWNER, MANAGER, MASTER = StaffRole.OWNER, StaffRole.MANAGER, StaffRole.MASTER


class Refused(Exception):
    """A staff action that must not happen; `key` and `params` are the polite answer."""

    key = "access.no_access"

    def __init__(self, **params: object) -> None:
        super().__init__(self.key)
        self.params = params


class NoAccess(Refused):
    """The person's role does not allow this at all."""


class NotYours(Refused):
    """Another manager holds the lead: read-only for everyone but them and the owners."""

    key = "access.not_yours"


class TooEarly(Refused):
    """An outcome of a visit that has not started yet."""

    key = "access.too_early"


class BadAmount(Refused):
    """An amount paid that is not positive or not sane."""

    key = "access.bad_amount"


async def holder_name(lead: Lead) -> str:
    member = await StaffMember.get_or_none(telegram_id=lead.manager_id)
    return member.name if member else "—"


async def check_lead(lead: Lead | None, staff_id: int, owner_ids: frozenset[int]) -> StaffRole:
    """Owners always; managers while the lead is unclaimed or theirs; nobody else."""
    role, _ = await who(staff_id, owner_ids)
    if role is OWNER:
        return role
    if role is not MANAGER:
        raise NoAccess()
    if lead is not None and lead.manager_id not in (None, staff_id):
        raise NotYours(id=lead.id, name=await holder_name(lead))
    return role


async def check_lead_id(lead_id: int, staff_id: int, owner_ids: frozenset[int]) -> Lead | None:
    lead = await lead_of(lead_id)
    await check_lead(lead, staff_id, owner_ids)
    return lead


async def check_appointment(
    appointment_id: int, staff_id: int, owner_ids: frozenset[int]
) -> Appointment | None:
    """The appointment, if the person may act on its lead (None: no such appointment)."""
    appointment = await Appointment.get_or_none(id=appointment_id)
    await check_lead(await lead_of(appointment and appointment.lead_id), staff_id, owner_ids)
    return appointment


async def check_outcome(
    appointment: Appointment, staff_id: int, owner_ids: frozenset[int], now: dt.datetime
) -> None:
    """«Пришёл / Неявка»: the visit's own master, the lead's holder or an owner, and only
    once the visit has started."""
    role, member = await who(staff_id, owner_ids)
    if role is MASTER:
        if member is None or member.master_id != appointment.master_id:
            raise NoAccess()
    else:
        await check_lead(await lead_of(appointment.lead_id), staff_id, owner_ids)
    if appointment.start > now:
        raise TooEarly()
