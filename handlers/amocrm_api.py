"""amoCRM (Kommo) API v4 over aiohttp: Bearer tokens from bot.crm.tokens, 7 requests a second.

A 429 empties our bucket and the request is sent again after one drain step; 5xx, timeouts
and a refused connection are an outage (CrmUnavailable). A refresh token the OAuth server
refuses raises TokenRefused (bot.crm.tokens keeps working on the access token meanwhile).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.clock import Clock
from bot.crm.port import CrmUnavailable
from bot.crm.tokens import Grant, TokenRefused, TokenStore
from handlers.bitrix24_api import TIMEOUT, LeakyBucket

RATE = 7.0  # requests a second per account
BATCH_LIMIT = 50  # leads/complex, PATCH leads, notes: entities per request
LIMIT_RETRIES = 30
NAME = "amocrm"


class AmoError(Exception):
    """A 4xx answer other than the rate limit: the request itself is refused."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {str(body)[:160]}")
        self.status = status


class AmoApi:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        clock: Clock,
        rate: float = RATE,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.client = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
        }
        self.bucket = LeakyBucket(rate, max(1, int(rate)))
        self.tokens = TokenStore(NAME, self.refresh, clock)
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def request(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        """The answer's JSON (None for 204). Limits waited out; outages raise CrmUnavailable."""
        for _ in range(LIMIT_RETRIES):
            token = await self.tokens.access_token()
            await self.bucket.acquire()
            headers = {"Authorization": f"Bearer {token}"}
            status, data = await self._send(method, path, body, params, headers)
            if status == 429:
                self.bucket.full()
                continue
            if status >= 500 or status == 401:
                raise CrmUnavailable(f"amocrm {method} {path}: HTTP {status}")
            if status >= 400:
                raise AmoError(status, data)
            return data
        raise CrmUnavailable(f"amocrm {method} {path}: 429 {LIMIT_RETRIES} times")

    async def refresh(self, refresh_token: str) -> Grant:
        """Spend the refresh token for a new pair (bot.crm.tokens calls it, once at a time)."""
        return await self.grant({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def grant(self, fields: Mapping[str, str]) -> Grant:
        """POST /oauth2/access_token: an authorisation code or a refresh token for a pair."""
        await self.bucket.acquire()
        status, data = await self._send(
            "POST", "/oauth2/access_token", {**self.client, **fields}, None, {}
        )
        if status in (400, 401, 403):
            raise TokenRefused(f"amocrm refused the grant: HTTP {status}")
        if status != 200 or not isinstance(data, dict):
            raise CrmUnavailable(f"amocrm oauth: HTTP {status}")
        return Grant(data["access_token"], data["refresh_token"], int(data["expires_in"]))

    async def _send(
        self,
        method: str,
        path: str,
        body: Any,
        params: Any,
        headers: Mapping[str, str],
    ) -> tuple[int, Any]:
        self.requests += 1
        try:
            async with self._client().request(
                method, self.base + path, json=body, params=params, headers=headers
            ) as response:
                if response.status == 204:
                    return 204, None
                try:
                    return response.status, await response.json(content_type=None)
                except ValueError:
                    return response.status, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CrmUnavailable(f"amocrm {method} {path}: {type(exc).__name__}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
