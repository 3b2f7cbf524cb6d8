"""Telegram's payment round on the fake Bot API (tests/fakes/bot_api.py), as Telegram runs it:
the client pays an invoice the bot sent → a `pre_checkout_query` update → the bot must
answer it within 10 s (the fake's time: a FakeClock) → only an ok=true answer in time makes
a `successful_payment` message with both charge ids; a late or ok=false answer fails the
payment and nothing is charged."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from bot.clock import FakeClock
from tests.fakes.bot_api import FakeBotApi, FakeUser

ANSWER_WITHIN = dt.timedelta(seconds=10)
_ids = itertools.count(1)


@dataclass(frozen=True)
class Round:
    ok: bool  # charged: the successful_payment update was sent
    answered: bool
    error: str | None = None  # the bot's error_message, or "late"
    telegram_charge_id: str = ""
    provider_charge_id: str = ""


async def pay_invoice(
    api: FakeBotApi,
    token: str,
    user: FakeUser,
    clock: FakeClock,
    *,
    payload: str | None = None,
    total: int | None = None,
    currency: str = "RUB",
    slow_seconds: float = 0,
) -> Round:
    """Pay the last invoice sent to `user` (or a forged `payload` / `total`). `slow_seconds`
    of fake time pass before the bot sees the query (a bot that answers late)."""
    message = next(m for m in reversed(api.sent(token, user.id)) if "invoice" in m)
    payload = payload if payload is not None else api.invoice_payloads[-1]
    total = total if total is not None else message["invoice"]["total_amount"]
    query_id = f"pcq-{next(_ids)}"
    asked = clock.now()
    clock.advance(seconds=slow_seconds)
    api.push_update(
        token,
        {
            "pre_checkout_query": {
                "id": query_id,
                "from": user.to_dict(),
                "currency": currency,
                "total_amount": total,
                "invoice_payload": payload,
            }
        },
    )
    call = await api.wait_for_call(
        token, "answerPreCheckoutQuery", lambda c: c.params.get("pre_checkout_query_id") == query_id
    )
    if clock.now() - asked > ANSWER_WITHIN:
        return Round(False, True, "late")
    if call.params.get("ok") is not True:
        return Round(False, True, call.params.get("error_message"))
    charge = (f"tg-charge-{query_id}", f"2f{query_id}-000f-5000-8000-provider")
    api.push_message(
        token,
        user,
        successful_payment={
            "currency": currency,
            "total_amount": total,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge[0],
            "provider_payment_charge_id": charge[1],
        },
    )
    return Round(True, True, None, *charge)
