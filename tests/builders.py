"""Hand-built rows for the KPI, report, money and AI tests: only what a test cares about
is named at the call; the rest (an hour-long «cut» at 1 000 ₽) is filled in here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.models import Appointment

HOUR = dt.timedelta(hours=1)


async def appointment(
    start: dt.datetime,
    status: str,
    created: dt.datetime,
    *,
    master: str = "anna",
    paid: int | None = None,
    **fields: Any,
) -> Appointment:
    """An hour-long visit; its price is what was paid (1 000 ₽ when nothing was)."""
    fields.setdefault("service_id", "cut")
    fields.setdefault("price_kop", paid or 100000)
    return await Appointment.create(
        master_id=master,
        start=start,
        end=start + HOUR,
        paid_kop=paid,
        status=status,
        created_at=created,
        **fields,
    )
