"""The VK API methods the community adapter uses, over plain aiohttp (docs/channels.md).

Every method is POST <VK_API_URL>/<method> with the group token and `v` as form fields;
VK answers 200 with either {"response": …} or {"error": {"error_code", "error_msg"}}, and
`verdict` is the one place that turns an error code into retry-or-give-up. Requests are
paced to the community token's limit through the outbox's limiter (bot/delivery/ratelimit.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from bot.delivery.outbox import RetryLater, Undeliverable
from bot.delivery.ratelimit import LocalRateLimiter, RateLimiter

API_VERSION = "5.199"
RATE_PER_SECOND = 20  # VK's limit for a community token: 20 requests a second
PACE_PER_SECOND = RATE_PER_SECOND * 0.9  # evenly spaced, with room for network jitter
LONG_POLL_WAIT = 25  # seconds a Bots Long Poll request is held open (VK allows up to 90)
RETRY_CODES = {6, 9, 29}  # too many per second, flood control, rate limit reached
DEAD_CODES = {7, 15, 901, 902}  # no permission, access denied, can't send to this user
AUTH = 5  # a wrong or revoked token: an operator fixes it, then the row goes out
log = logging.getLogger("priyom.vk")


def verdict(code: int, reason: str) -> RetryLater | Undeliverable:
    """VK's error codes: flood and rate limits wait a second; the client's privacy settings
    or a missing permission are permanent; the token (5) and VK's own failures (10, any
    other unknown code ≥ 10 we cannot judge) are retried; the rest of the request errors
    (a bad parameter, 911 a bad keyboard) would fail again: dead."""
    if code in RETRY_CODES:
        return RetryLater(1.0, reason)
    if code in DEAD_CODES:
        return Undeliverable(reason)
    if code == AUTH:
        log.error("vk_token_refused", extra={"error": reason})
        return RetryLater(0, reason)
    if code == 10:
        return RetryLater(0, reason)
    return Undeliverable(reason)


class VkApi:
    """One community's token; a session opened on first use."""

    def __init__(
        self,
        api_url: str,
        token: str,
        group_id: int,
        *,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.url, self.token, self.group_id = api_url.rstrip("/"), token, group_id
        self.limiter = limiter or LocalRateLimiter(PACE_PER_SECOND, 0, smooth=True)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=LONG_POLL_WAIT + 15)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """One API method; the response's `response`, or RetryLater/Undeliverable."""
        await self.limiter.acquire("vk", "")
        form = {k: str(v) for k, v in params.items() if v is not None}
        form.update(access_token=self.token, v=API_VERSION)
        try:
            async with self._http().post(f"{self.url}/{method}", data=form) as resp:
                status = resp.status
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RetryLater(0, f"vk {method}: {exc!r}") from exc
        if status >= 300 or not isinstance(data, dict):
            raise RetryLater(0, f"vk {method}: HTTP {status}")
        if "error" in data:
            error = data["error"] or {}
            code = int(error.get("error_code") or 0)
            raise verdict(code, f"vk {code}: {error.get('error_msg', '')}")
        return data.get("response")

    async def send(self, peer_id: str, random_id: int, text: str, keyboard: dict | None) -> str:
        """messages.send: the same random_id twice is shown once, so a retry is safe."""
        params: dict[str, Any] = {"peer_id": peer_id, "random_id": random_id, "message": text}
        if keyboard is not None:
            params["keyboard"] = json.dumps(keyboard, ensure_ascii=False)
        return str(await self.call("messages.send", params))

    async def answer_event(self, event_id: str, user_id: int, peer_id: int) -> None:
        await self.call(
            "messages.sendMessageEventAnswer",
            {"event_id": event_id, "user_id": user_id, "peer_id": peer_id},
        )

    async def long_poll_server(self) -> dict:
        return await self.call("groups.getLongPollServer", {"group_id": self.group_id})

    async def long_poll(self, server: str, key: str, ts: str, wait: int) -> dict:
        """One Bots Long Poll request: {"ts", "updates"} or {"failed": 1|2|3, …}."""
        params = {"act": "a_check", "key": key, "ts": ts, "wait": wait}
        try:
            async with self._http().get(server, params=params) as resp:
                return await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RetryLater(0, f"vk long poll: {exc!r}") from exc

    async def download(self, url: str) -> bytes:
        """A photo a client sent (a URL in the attachment): https only (or our own API host
        in development), and never with the token."""
        if not (url.startswith("https://") or url.startswith(self.url.rsplit("/", 1)[0] + "/")):
            raise Undeliverable(f"refused to fetch {url[:60]!r}: not an https URL")
        try:
            async with self._http().get(url) as resp:
                if resp.status >= 300:
                    raise RetryLater(0, f"vk file {resp.status}")
                return await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(0, f"vk file: {exc!r}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
