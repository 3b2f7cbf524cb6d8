"""Staff and roles: who may use the staff bot, invites to join it, removal, refusals.

The database decides everything that two processes could race on: an invite is spent by
a conditional UPDATE (only one redemption can win), a refusal is a unique row (only one
«no» per stranger). Roles are read at the moment of use, so a removal takes effect at once.
No channel library here: the staff bot's Telegram side lives in admin_bot/.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from bot.config import BusinessConfig, Master
from bot.models import (
    OPEN_LEAD_STATUSES,
    Conversation,
    Invite,
    Lead,
    StaffMember,
    StaffRefusal,
    StaffRole,
)
from bot.staffwork.receipt import write_transaction

TOKEN_BYTES = 24  # token_urlsafe(24) → 32 characters of A-Za-z0-9_-: a valid /start payload
# Anything else typed after /start is refused before it reaches the database (whose
# 32-character column would raise a validation error instead of answering).
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")


def owners_of(
    config: BusinessConfig, extra: frozenset[int] | list[int] = frozenset()
) -> frozenset[int]:
    """The owners: those in the business config plus those from the environment (OWNER_IDS)."""
    return frozenset(config.business.owners) | frozenset(extra)


class InviteError(StrEnum):
    """Why an invite link was not accepted."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


async def active_member(telegram_id: int) -> StaffMember | None:
    return await StaffMember.get_or_none(telegram_id=telegram_id, active=True)


async def who(
    telegram_id: int, owner_ids: frozenset[int]
) -> tuple[StaffRole | None, StaffMember | None]:
    """The person's role now (owners first, from the config/environment) and their row."""
    member = await active_member(telegram_id)
    if telegram_id in owner_ids:
        return StaffRole.OWNER, member
    return (member.role, member) if member else (None, None)


async def role_of(telegram_id: int, owner_ids: frozenset[int]) -> StaffRole | None:
    role, _ = await who(telegram_id, owner_ids)
    return role


def find_master(config: BusinessConfig, query: str) -> Master | None:
    """A configured master by id or by name, case-insensitively («анна», «Anna», «anna»)."""
    wanted = query.strip().casefold()
    return next((m for m in config.masters if wanted in (m.id.casefold(), m.name.casefold())), None)


async def create_invite(
    role: StaffRole,
    master_id: str | None,
    created_by: int,
    now: dt.datetime,
    ttl: dt.timedelta,
) -> Invite:
    """A one-time link token; a master invite must name the configured master it is for."""
    if role is StaffRole.OWNER:
        raise ValueError("owners come from the config, not from invites")
    if (role is StaffRole.MASTER) != (master_id is not None):
        raise ValueError("a master invite needs a master id, and only a master invite has one")
    async with write_transaction():  # with the /invite's receipt: no second link for a redelivery
        return await Invite.create(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            role=role,
            master_id=master_id,
            created_by=created_by,
            created_at=now,
            expires_at=now + ttl,
        )


async def redeem_invite(
    token: str, telegram_id: int, name: str, now: dt.datetime
) -> StaffMember | InviteError:
    """Spend the invite and make the person a member (re-activating a removed row).

    Idempotent for the person who already spent it (Telegram may deliver /start twice).
    """
    if not TOKEN_RE.fullmatch(token):
        return InviteError.UNKNOWN
    invite = await Invite.get_or_none(token=token)
    if invite is None:
        return InviteError.UNKNOWN
    async with in_transaction():
        won = await Invite.filter(id=invite.id, used_at__isnull=True, expires_at__gt=now).update(
            used_at=now, used_by=telegram_id
        )
        if won:
            return await _upsert_member(invite, telegram_id, name, now)
    await invite.refresh_from_db()
    if invite.used_at is None:
        return InviteError.EXPIRED
    member = await active_member(telegram_id)
    if invite.used_by == telegram_id and member is not None:
        return member
    return InviteError.USED


async def _upsert_member(
    invite: Invite, telegram_id: int, name: str, now: dt.datetime
) -> StaffMember:
    values = {
        "role": invite.role,
        "master_id": invite.master_id,
        "name": name[:80] or str(telegram_id),
        "active": True,
        "removed_at": None,
    }
    member = await StaffMember.get_or_none(telegram_id=telegram_id)
    if member is None:
        return await StaffMember.create(telegram_id=telegram_id, created_at=now, **values)
    if not member.active:
        values["created_at"] = now  # «since» counts from the latest joining
    await StaffMember.filter(id=member.id).update(**values)
    await member.refresh_from_db()
    return member


async def list_staff() -> list[StaffMember]:
    """Active members, managers first, then masters, each by joining time."""
    members = await StaffMember.filter(active=True).order_by("created_at", "id")
    order = {StaffRole.MANAGER: 0, StaffRole.MASTER: 1}
    return sorted(members, key=lambda m: order.get(m.role, 2))


async def remove_member(member_id: int, now: dt.datetime) -> StaffMember | None:
    """Deactivate, end their relays and release their open leads to the others.

    Returns the removed member (for un-registering their menu), or None if not active.
    """
    async with in_transaction():
        done = await StaffMember.filter(id=member_id, active=True).update(
            active=False, removed_at=now
        )
        if not done:
            return None
        member = await StaffMember.get(id=member_id)
        await Conversation.filter(relay_staff_id=member.telegram_id).update(
            relay_staff_id=None, version=F("version") + 1
        )
        await Lead.filter(manager_id=member.telegram_id, status__in=OPEN_LEAD_STATUSES).update(
            manager_id=None, updated_at=now
        )
    return member


async def refuse_once(telegram_id: int, now: dt.datetime) -> bool:
    """True only the first time for this person: a stranger is told «no» once, then ignored."""
    try:
        await StaffRefusal.create(telegram_id=telegram_id, at=now)
    except IntegrityError:
        return False
    return True
