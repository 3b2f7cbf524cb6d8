"""YooKassa's API v3 over aiohttp: the core's payment `Gateway` (bot/payments/gateway.py).

Why aiohttp directly rather than aioyookassa: four calls (create and read a payment, create
and read a refund) are a page of code on the HTTP client every channel already uses, with
our own timeouts and error mapping (GatewayError: retried by the timed work); the official
`yookassa` SDK is synchronous, and a client library would be one more pin to keep.

Every POST carries an `Idempotence-Key` (per deposit: a retried call returns the same
object); HTTP Basic with the shop id and the secret key; amounts are "500.00" strings,
converted from and to integer kopecks here and nowhere else.
"""

from __future__ import annotations

import base64
from decimal import Decimal

import aiohttp

from bot.payments.gateway import GatewayError, Payment, PaymentRequest, Refund

API_URL = "https://api.yookassa.ru/v3"
TIMEOUT = aiohttp.ClientTimeout(total=20)
PAYMENT_MODE = "full_prepayment"  # 54-FZ: the deposit is paid before the service
PAYMENT_SUBJECT = "service"


def money(kopecks: int) -> dict:
    return {"value": f"{kopecks // 100}.{kopecks % 100:02d}", "currency": "RUB"}


def kopecks(amount: dict) -> int:
    return int(Decimal(str(amount["value"])) * 100)


def payment_body(request: PaymentRequest) -> dict:
    """POST /v3/payments: a one-stage payment, a redirect link, the 54-FZ receipt."""
    customer = {"phone": request.phone} if request.phone else {}
    return {
        "amount": money(request.amount_kop),
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": request.return_url},
        "description": request.description[:128],
        "metadata": {"deposit": request.token},
        "receipt": {
            "customer": customer,
            "items": [
                {
                    "description": request.item[:128],
                    "quantity": "1.00",
                    "amount": money(request.amount_kop),
                    "vat_code": request.vat_code,
                    "payment_mode": PAYMENT_MODE,
                    "payment_subject": PAYMENT_SUBJECT,
                }
            ],
        },
    }


def payment_of(data: dict) -> Payment:
    confirmation = data.get("confirmation") or {}
    return Payment(
        id=str(data["id"]),
        status=str(data["status"]),
        amount_kop=kopecks(data["amount"]),
        currency=str(data["amount"]["currency"]),
        token=(data.get("metadata") or {}).get("deposit"),
        confirmation_url=confirmation.get("confirmation_url"),
    )


def refund_of(data: dict) -> Refund:
    return Refund(
        id=str(data["id"]), status=str(data["status"]), payment_id=str(data["payment_id"])
    )


class YooKassa:
    """The Gateway on YooKassa's API (`base_url` points at a local fake in tests)."""

    def __init__(self, shop_id: str, secret_key: str, base_url: str = API_URL) -> None:
        self.base_url = base_url.rstrip("/")
        basic = base64.b64encode(f"{shop_id}:{secret_key}".encode()).decode("ascii")
        self.headers = {"Authorization": f"Basic {basic}"}
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self.headers, timeout=TIMEOUT)
        return self._session

    async def _call(self, method: str, path: str, body: dict | None = None, key: str = "") -> dict:
        headers = {"Idempotence-Key": key} if key else {}
        try:
            async with self._http().request(
                method, self.base_url + path, json=body, headers=headers
            ) as response:
                data = await response.json(content_type=None)
                if response.status >= 400:
                    what = data.get("description") if isinstance(data, dict) else ""
                    raise GatewayError(f"{response.status} {what}")
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise GatewayError(f"{type(exc).__name__}: {exc}") from exc

    async def create_payment(self, request: PaymentRequest) -> Payment:
        body = payment_body(request)
        return payment_of(await self._call("POST", "/payments", body, request.idempotence_key))

    async def get_payment(self, payment_id: str) -> Payment:
        return payment_of(await self._call("GET", f"/payments/{payment_id}"))

    async def refund(self, payment_id: str, amount_kop: int, idempotence_key: str) -> Refund:
        body = {"payment_id": payment_id, "amount": money(amount_kop)}
        return refund_of(await self._call("POST", "/refunds", body, idempotence_key))

    async def get_refund(self, refund_id: str) -> Refund:
        return refund_of(await self._call("GET", f"/refunds/{refund_id}"))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
