"""Bitrix24 REST over aiohttp: an inbound webhook URL, `batch`, and the portal's limits.

Why aiohttp and not fast-bitrix24: the sync queue is ours (in the database, in the
transaction of the change), so the client only needs to send one batch and report each
command's result; fast-bitrix24 would add its own retry and batching layer on top that
hides which command of a batch failed, and its pacing is per process anyway. The limits
are named here and kept on our side: a leaky bucket of BUCKET requests draining RATE a
second; a `QUERY_LIMIT_EXCEEDED` answer empties our bucket and the request is sent again
after one drain step, so no limit error is left unretried.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.crm.port import CrmUnavailable

RATE, BUCKET = 2.0, 50  # requests a second drained, requests the bucket holds
BATCH_LIMIT = 50  # commands per `batch`
LIMIT_ERROR = "QUERY_LIMIT_EXCEEDED"
TRANSIENT_ERRORS = frozenset({LIMIT_ERROR, "OPERATION_TIME_LIMIT", "INTERNAL_SERVER_ERROR"})
OPERATING_ERROR = "OPERATION_TIME_LIMIT"  # a method ran > 480 s within 10 min: it is blocked
OPERATING_WAIT = 60.0  # seconds to wait for a blocked method when the portal names no time
LIMIT_RETRIES = 30  # limit answers in a row before the pass gives up (CrmUnavailable)
TIMEOUT = aiohttp.ClientTimeout(total=20)


class BitrixError(Exception):
    """An answer with an error code (not a limit): the request itself is refused."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code


class LeakyBucket:
    """Our side of the portal's bucket: wait until a request fits, never over the limit."""

    def __init__(self, rate: float, size: int) -> None:
        self.rate, self.size = rate, size
        self.level, self.at = 0.0, time.monotonic()
        self.lock = asyncio.Lock()

    def _drain(self) -> None:
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.at) * self.rate)
        self.at = now

    async def acquire(self) -> None:
        async with self.lock:
            self._drain()
            if self.level + 1 > self.size:
                await asyncio.sleep((self.level + 1 - self.size) / self.rate)
                self._drain()
            self.level += 1

    def full(self) -> None:
        """The portal said the bucket is full: believe it."""
        self._drain()
        self.level = max(self.level, float(self.size))


def build_query(params: Mapping[str, Any], prefix: str = "") -> str:
    """PHP's http_build_query, as `batch` commands are written: a[b][0]=v&…"""
    parts: list[str] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            parts.append(build_query(value, name))
        elif isinstance(value, list | tuple):
            parts.append(build_query(dict(enumerate(value)), name))
        else:
            text = "" if value is None else str(value)
            parts.append(f"{quote(name, safe='[]')}={quote(text, safe='$[]')}")
    return "&".join(p for p in parts if p)


def _blocked_for(body: Mapping[str, Any]) -> float:
    """Seconds until the portal unblocks a method (`time.operating_reset_at`, Unix time)."""
    reset_at = (body.get("time") or {}).get("operating_reset_at")
    if isinstance(reset_at, int | float):
        return max(1.0, reset_at - time.time())
    return OPERATING_WAIT


class Bitrix24Api:
    def __init__(self, webhook_url: str, rate: float = RATE, burst: int = BUCKET) -> None:
        self.base = webhook_url.rstrip("/") + "/"
        self.bucket = LeakyBucket(rate, burst)
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0  # sent, including refused ones (the bench reads it)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def call(self, method: str, params: Mapping[str, Any]) -> Any:
        """One method; its `result`. Limits are waited out; an outage raises CrmUnavailable."""
        for _ in range(LIMIT_RETRIES):
            await self.bucket.acquire()
            status, body = await self._post(method, params)
            error = body.get("error") if isinstance(body, dict) else None
            if error == LIMIT_ERROR:
                self.bucket.full()
                continue
            if error == OPERATING_ERROR:
                raise CrmUnavailable(f"bitrix24 {method}: {error}", _blocked_for(body))
            if status >= 500 or error in TRANSIENT_ERRORS:
                raise CrmUnavailable(f"bitrix24 {method}: HTTP {status} {error or ''}".strip())
            if error:
                raise BitrixError(str(error), str(body.get("error_description", "")))
            return body.get("result")
        raise CrmUnavailable(f"bitrix24 {method}: {LIMIT_ERROR} {LIMIT_RETRIES} times")

    async def batch(
        self, commands: Mapping[str, tuple[str, Mapping[str, Any]]]
    ) -> tuple[dict, dict]:
        """Up to BATCH_LIMIT commands in one request: (results, errors) by command name."""
        if len(commands) > BATCH_LIMIT:
            raise ValueError(f"a batch takes at most {BATCH_LIMIT} commands")
        cmd = {
            name: f"{method}?{build_query(params)}" for name, (method, params) in commands.items()
        }
        result = await self.call("batch", {"halt": 0, "cmd": cmd})
        result = result or {}
        errors = result.get("result_error") or {}
        return dict(result.get("result") or {}), dict(errors) if isinstance(errors, dict) else {}

    async def _post(self, method: str, params: Mapping[str, Any]) -> tuple[int, Any]:
        self.requests += 1
        try:
            async with self._client().post(f"{self.base}{method}.json", json=params) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = {}
                return response.status, body
        except (aiohttp.ClientError, TimeoutError) as exc:  # the URL holds a secret: no str(exc)
            raise CrmUnavailable(f"bitrix24 {method}: {type(exc).__name__}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
