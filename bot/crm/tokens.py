"""Rotating OAuth tokens (amoCRM: each refresh token works once) kept safe in the database.

- The new pair is written in one UPDATE that keeps the old refresh token beside it, guarded
  by the row's version: a refresh either lands whole or not at all.
- One process refreshes at a time (`refreshing_until`, a claim by conditional UPDATE); the
  others wait for the row to change and use the new pair, never spending the same token.
- Tokens are refreshed early (REFRESH_AHEAD before the access token expires), so a refresh
  that fails half-way — the CRM rotated the token but its answer was lost — leaves hours of
  a working access token; when the CRM then refuses the refresh token, the row is marked
  `broken` (owners are told, bot/crm/alerts.py) and the access token is used until it
  expires: the integration is never locked out without warning.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.expressions import Q

from bot.clock import Clock
from bot.crm.models import CrmToken

REFRESH_AHEAD = dt.timedelta(hours=12)  # amoCRM access tokens live 24 h
CLAIM = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class Grant:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds


class TokenRefused(Exception):
    """The CRM refused the refresh token (spent or revoked): re-authorisation is needed."""


Refresher = Callable[[str], Awaitable[Grant]]


async def store_grant(crm: str, grant: Grant, now: dt.datetime) -> None:
    """The first pair (from an authorisation code), or a new one given by hand."""
    await CrmToken.update_or_create(
        defaults={
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "expires_at": now + dt.timedelta(seconds=grant.expires_in),
            "updated_at": now,
            "broken": None,
            "refreshing_until": None,
        },
        crm=crm,
    )


class TokenStore:
    def __init__(self, crm: str, refresh: Refresher, clock: Clock) -> None:
        self.crm, self.refresh, self.clock = crm, refresh, clock

    async def access_token(self) -> str:
        """A working access token, refreshed ahead of its expiry by one process."""
        for _ in range(60):
            row = await CrmToken.get_or_none(crm=self.crm)
            if row is None:
                raise TokenRefused(f"{self.crm}: no tokens stored; authorise the integration")
            now = self.clock.now()
            if row.broken or now < row.expires_at - REFRESH_AHEAD:
                if now >= row.expires_at:
                    raise TokenRefused(f"{self.crm}: {row.broken or 'token expired'}")
                return row.access_token
            if await self._claim(row, now):
                return await self._refresh(row, now)
            await asyncio.sleep(0.5)  # another process is refreshing: use its pair
        raise TokenRefused(f"{self.crm}: the refresh did not finish")

    async def _claim(self, row: CrmToken, now: dt.datetime) -> bool:
        free = Q(refreshing_until__isnull=True) | Q(refreshing_until__lt=now)
        return bool(
            await CrmToken.filter(free, id=row.id, version=row.version).update(
                refreshing_until=now + CLAIM
            )
        )

    async def _refresh(self, row: CrmToken, now: dt.datetime) -> str:
        try:
            grant = await self.refresh(row.refresh_token)
        except TokenRefused as exc:
            await CrmToken.filter(id=row.id, version=row.version).update(
                broken=str(exc)[:200], refreshing_until=None
            )
            if now < row.expires_at:
                return row.access_token  # still good for a while: keep working, owners told
            raise
        except BaseException:
            await CrmToken.filter(id=row.id, version=row.version).update(refreshing_until=None)
            raise
        await CrmToken.filter(id=row.id, version=row.version).update(
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            previous_refresh=row.refresh_token,
            expires_at=now + dt.timedelta(seconds=grant.expires_in),
            version=row.version + 1,
            refreshing_until=None,
            broken=None,
            updated_at=now,
        )
        return grant.access_token
