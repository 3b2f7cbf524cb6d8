"""YooKassa's HTTP notifications (payment.succeeded, payment.canceled, refund.succeeded).

They carry no signature, so: the sender's address must be in YooKassa's published ranges
(a setting; behind a proxy the configured trusted header alone names the sender), and the
object is re-read from the API before anything changes (bot.payments.gateway). A repeated
notification changes nothing; a bad body is a 400 with the reason, never a 500.
"""

from __future__ import annotations

import ipaddress
import json
import logging

from aiohttp import web

from bot.clock import Clock
from bot.payments.gateway import GatewayError, PaymentWork

log = logging.getLogger("priyom.yookassa")
PATH = "/payments/yookassa"
EVENTS = ("payment.succeeded", "payment.canceled", "refund.succeeded")
MAX_BODY = 64 * 1024
PUBLISHED_RANGES = (  # yookassa.ru/developers/using-api/webhooks: the senders' addresses
    "185.71.76.0/27",
    "185.71.77.0/27",
    "77.75.153.0/25",
    "77.75.156.11/32",
    "77.75.156.35/32",
    "77.75.154.128/25",
    "2a02:5180::/32",
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(ranges: list[str] | tuple[str, ...]) -> list[Network]:
    return [ipaddress.ip_network(r.strip(), strict=False) for r in ranges if r.strip()]


class YooKassaNotifications:
    def __init__(
        self,
        work: PaymentWork,
        clock: Clock,
        allowed: list[Network],
        proxy_header: str = "",
    ) -> None:
        self.work, self.clock, self.allowed = work, clock, allowed
        self.proxy_header = proxy_header  # e.g. X-Real-IP, set by our own proxy only

    def register(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.handle)

    def sender(self, request: web.Request) -> str:
        if self.proxy_header:
            return request.headers.get(self.proxy_header, "").split(",")[-1].strip()
        return request.remote or ""

    def allowed_sender(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.allowed)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.allowed_sender(self.sender(request)):
            log.warning("yookassa_forbidden_sender")
            return web.Response(status=403, text="sender not allowed")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413, text="body too large")
        try:
            event, object_id = parse(await request.read())
        except ValueError as exc:
            return web.Response(status=400, text=str(exc))
        try:
            done = await self.work.on_notification(event, object_id, self.clock.now())
        except GatewayError as exc:  # YooKassa retries an unanswered notification
            log.warning("yookassa_reread_failed", extra={"why": str(exc)})
            return web.Response(status=503, text="try again")
        log.info("yookassa_notification", extra={"event": event, "done": done})
        return web.Response(text="ok")


def parse(raw: bytes) -> tuple[str, str]:
    """(event, object id) of a notification body, or ValueError with the reason."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("body is not JSON") from None
    if not isinstance(body, dict) or body.get("type") != "notification":
        raise ValueError("not a notification")
    event = body.get("event")
    if event not in EVENTS:
        raise ValueError(f"unknown event: {str(event)[:40]}")
    obj = body.get("object")
    object_id = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(object_id, str) or not 0 < len(object_id) <= 64:
        raise ValueError("object.id missing")
    return event, object_id
