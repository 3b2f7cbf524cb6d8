"""The WhatsApp Cloud API's messages endpoint, with its errors mapped to retry or give up."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from bot.delivery.outbox import RetryLater, Undeliverable

log = logging.getLogger("priyom.whatsapp")

# Graph error codes meaning "slow down" (rate or spam limits): retried, never counted as
# failures (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
THROTTLED = {4, 80007, 130429, 131048, 131056}
THROTTLE_WAIT = 30.0  # seconds; Graph gives no retry-after
OUTSIDE_WINDOW = 131047  # "re-engagement message": more than 24 h since the client wrote
# Graph's own trouble, whatever the HTTP status: unknown/temporary API errors, "something
# went wrong", service unavailable, account in maintenance, server temporarily unavailable;
# and an expired token (190), which an operator renews. Retried, never dead.
TRANSIENT = {1, 2, 190, 131000, 131016, 131057, 133004}
TRANSIENT_STATUS = {401, 408}  # the token (renewed by an operator), a request timeout


class GraphClient:
    def __init__(self, api_url: str, phone_number_id: str, token: str) -> None:
        self.url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self.headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._session

    async def send(self, to: str, body: dict[str, Any]) -> str:
        """Send one message; the WhatsApp message id (wamid) it got."""
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        payload |= body
        try:
            async with self._http().post(self.url, json=payload, headers=self.headers) as resp:
                data = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RetryLater(0, f"graph: {exc!r}") from exc
        if status < 300 and isinstance(data, dict) and data.get("messages"):
            return str(data["messages"][0]["id"])
        raise _error(status, data)

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        """Upload a file to WhatsApp's media store; the media id to send it by."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime)
        form.add_field("file", data, filename=filename, content_type=mime)
        url = self.url.removesuffix("/messages") + "/media"
        try:
            async with self._http().post(url, data=form, headers=self.headers) as resp:
                body = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RetryLater(0, f"graph media: {exc!r}") from exc
        if status < 300 and isinstance(body, dict) and body.get("id"):
            return str(body["id"])
        raise _error(status, body)

    async def download(self, media_id: str) -> bytes:
        """A file a client sent: Graph gives a short-lived URL, read with the same token."""
        base = self.url.rsplit("/", 2)[0]  # …/v21.0
        try:
            async with self._http().get(f"{base}/{media_id}", headers=self.headers) as resp:
                meta = await resp.json(content_type=None)
                status = resp.status
            if status >= 300 or not isinstance(meta, dict) or not meta.get("url"):
                raise _error(status, meta)
            async with self._http().get(meta["url"], headers=self.headers) as resp:
                if resp.status >= 300:
                    raise _error(resp.status, {})
                return await resp.read()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RetryLater(0, f"graph media: {exc!r}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _error(status: int, data: Any) -> RetryLater | Undeliverable:
    """The one classification of Graph's answers: only a permanent one (a 4xx about the
    recipient or the request: not on WhatsApp, invalid parameter, 24-hour window) is dead."""
    error = data.get("error", {}) if isinstance(data, dict) else {}
    code, message = error.get("code"), error.get("message") or f"HTTP {status}"
    reason = f"graph {status} code={code}: {message}"
    if status == 429 or code in THROTTLED:
        return RetryLater(THROTTLE_WAIT, reason)
    if status >= 500 or status == 0 or status in TRANSIENT_STATUS or code in TRANSIENT:
        return RetryLater(0, reason)
    if code == OUTSIDE_WINDOW:
        return Undeliverable(f"outside WhatsApp's 24-hour window: {reason}")
    return Undeliverable(reason)
