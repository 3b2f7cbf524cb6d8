"""A local YooKassa API v3 that behaves as YooKassa does where it matters: HTTP Basic with
the shop id and secret key (401 otherwise); every POST needs an `Idempotence-Key` (400
without) and the same key returns the same object without doing anything again; payments
(amount "500.00" strings, a redirect confirmation, the 54-FZ receipt required), refunds of
a succeeded payment up to its amount; and notifications POSTed to the product from a chosen
local address (127.0.0.1 allowed by the tests' setting, 127.0.0.2 not).
"""

from __future__ import annotations

import base64
import itertools
import json
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.local_server import RecordingApi

SHOP_ID, SECRET = "123456", "test_secret_key"


def _error(status: int, code: str, description: str) -> web.Response:
    body = {"type": "error", "code": code, "description": description}
    return web.json_response(body, status=status)


def _kopecks(amount: Any) -> int | None:
    try:
        if amount["currency"] != "RUB":
            return None
        value = Decimal(str(amount["value"]))
    except (KeyError, TypeError, ArithmeticError, ValueError):
        return None
    return int(value * 100) if value > 0 and value == value.quantize(Decimal("0.01")) else None


class FakeYooKassa(RecordingApi):
    def __init__(self) -> None:
        super().__init__()
        self.payments: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.by_key: dict[str, dict] = {}  # Idempotence-Key → the object it created
        self.posts: list[tuple[str, dict]] = []  # (path, body) of every accepted POST
        self.reads: list[str] = []  # ids read back with GET
        self._ids = itertools.count(1)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v3/payments", self._create_payment)
        app.router.add_get("/v3/payments/{id}", self._get_payment)
        app.router.add_post("/v3/refunds", self._create_refund)
        app.router.add_get("/v3/refunds/{id}", self._get_refund)

    @property
    def base(self) -> str:
        return self.url + "/v3"

    def to(self, recipient: str) -> list[dict[str, Any]]:
        return [b for p, b in self.posts if p == recipient]

    # --- the protocol ----------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{SHOP_ID}:{SECRET}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _post(self, request: web.Request, path: str, make) -> web.Response:
        if not self._authorized(request):
            return _error(401, "invalid_credentials", "Basic auth: shopId and secret key")
        key = request.headers.get("Idempotence-Key", "")
        if not key or len(key) > 64:
            return _error(400, "invalid_request", "Idempotence-Key header is required")
        if key in self.by_key:
            return web.json_response(self.by_key[key])
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "invalid_request", "body is not JSON")
        made = make(body)
        if isinstance(made, web.Response):
            return made
        self.by_key[key] = made
        self.posts.append((path, body))
        await self.recorded()
        return web.json_response(made)

    async def _create_payment(self, request: web.Request) -> web.Response:
        return await self._post(request, "payments", self._new_payment)

    def _new_payment(self, body: dict) -> dict | web.Response:
        if _kopecks(body.get("amount")) is None:
            return _error(400, "invalid_request", "amount: value and currency RUB")
        receipt = body.get("receipt") or {}
        items = receipt.get("items") or []
        customer = receipt.get("customer") or {}
        if not items or not (customer.get("phone") or customer.get("email")):
            return _error(400, "invalid_request", "receipt: items and customer phone or email")
        if any("vat_code" not in item for item in items):
            return _error(400, "invalid_request", "receipt.items[].vat_code is required")
        confirmation = body.get("confirmation") or {}
        if confirmation.get("type") != "redirect" or not confirmation.get("return_url"):
            return _error(400, "invalid_request", "confirmation: redirect with return_url")
        payment_id = f"2f{next(self._ids):06d}-000f-5000-8000-1a2b3c4d5e6f"
        payment = {
            "id": payment_id,
            "status": "pending",
            "paid": False,
            "amount": body["amount"],
            "description": body.get("description", ""),
            "metadata": body.get("metadata") or {},
            "confirmation": {
                "type": "redirect",
                "confirmation_url": f"https://yoomoney.example/checkout?orderId={payment_id}",
            },
            "test": True,
        }
        self.payments[payment_id] = payment
        return payment

    async def _get_payment(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "invalid_credentials", "Basic auth")
        payment = self.payments.get(request.match_info["id"])
        if payment is None:
            return _error(404, "not_found", "payment not found")
        self.reads.append(payment["id"])
        return web.json_response(payment)

    async def _create_refund(self, request: web.Request) -> web.Response:
        return await self._post(request, "refunds", self._new_refund)

    def _new_refund(self, body: dict) -> dict | web.Response:
        payment = self.payments.get(str(body.get("payment_id")))
        if payment is None or payment["status"] != "succeeded":
            return _error(400, "invalid_request", "payment_id: a succeeded payment")
        amount = _kopecks(body.get("amount"))
        if amount is None or amount > (_kopecks(payment["amount"]) or 0):
            return _error(400, "invalid_request", "amount: at most the payment's")
        refund_id = f"2f{next(self._ids):06d}-0015-5000-9000-1a2b3c4d5e6f"
        refund = {
            "id": refund_id,
            "payment_id": payment["id"],
            "status": "succeeded",
            "amount": body["amount"],
        }
        self.refunds[refund_id] = refund
        return refund

    async def _get_refund(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "invalid_credentials", "Basic auth")
        refund = self.refunds.get(request.match_info["id"])
        if refund is None:
            return _error(404, "not_found", "refund not found")
        return web.json_response(refund)

    # --- what the client and YooKassa do ----------------------------------------------------

    def pay(self, payment_id: str, status: str = "succeeded") -> dict:
        """The client paid (or gave up: "canceled") on YooKassa's page."""
        payment = self.payments[payment_id]
        payment["status"], payment["paid"] = status, status == "succeeded"
        return payment

    async def notify(self, url: str, event: str, obj: dict, source: str = "127.0.0.1") -> int:
        """POST a notification to the product from `source` (a loopback address)."""
        body = {"type": "notification", "event": event, "object": obj}
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(url, json=body) as response,
        ):
            return response.status
