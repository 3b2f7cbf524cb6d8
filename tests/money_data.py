"""Hand-built November 2026 in Samara (UTC+4) for the money tests; the expected values are
worked out by hand in the tests that use it.

Pay plans: Маша (7001) 20 000 ₽ fixed, plan 3 bookings, 1 000 ₽ per booking above it,
target 10 000 ₽, 5 %; Петя (7002) 15 000 ₽, plan 2, 500 ₽, target 5 000 ₽, 10 %.

visit  lead of  start (local)    status                        paid        counts for pay?
A1     Маша     Nov 5 12:00      came                          6 000,00    booking + sales
A2     Маша     Nov 6 12:00      came                          5 500,50    booking + sales
A3     Маша     Nov 25 12:00     confirmed, client confirmed   —           booking
A4     Маша     Nov 10 12:00     no-show, client confirmed     —           booking
A5     Маша     Nov 26 12:00     pending                       —           no
A6     Маша     Nov 20 12:00     cancelled (client confirmed)  —           no
A7     Маша     Dec 1 00:30      came                          1 000,00    no (December)
A8     Маша     Nov 30 23:30     came                          1 000,00    booking + sales
A9     Маша     Oct 31 23:30     came                          2 000,00    no (October)
B1     Петя     Nov 12 12:00     came                          3 000,00    booking + sales
B2     Петя     Nov 27 12:00     confirmed, not by the client  —           no
C1     nobody   Nov 14 12:00     came                          7 000,00    nobody's
So Маша: 5 bookings, sales 12 500,50 ₽; Петя: 1 booking, sales 3 000 ₽.
Measured revenue of November («came» visits starting in it): 6 000 + 5 500,50 + 1 000 +
3 000 + 7 000 = 22 500,50 ₽ in 5 visits.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.config import BusinessConfig, parse_config
from bot.models import Appointment, Client, Lead
from tests.builders import appointment
from tests.conftest import ROOT

SAMARA = ZoneInfo("Europe/Samara")
MASHA_ID, PETYA_ID = 7001, 7002

PLANS = [
    {
        "manager": MASHA_ID,
        "name": "Маша",
        "fixed": 20000,
        "plan_bookings": 3,
        "bonus_per_booking": 1000,
        "sales_target": 10000,
        "sales_percent": 5,
    },
    {
        "manager": PETYA_ID,
        "name": "Петя",
        "fixed": 15000,
        "plan_bookings": 2,
        "bonus_per_booking": 500,
        "sales_target": 5000,
        "sales_percent": 10,
    },
]


def money_config() -> BusinessConfig:
    data = tomllib.loads((ROOT / "examples" / "salon.toml").read_text(encoding="utf-8"))
    data["payroll"] = PLANS
    return parse_config(data)


def local(month: int, day: int, hour: int = 12, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SAMARA).astimezone(dt.UTC)


async def add_client(n: int, name: str | None = None, erased: bool = False) -> Client:
    return await Client.create(
        channel="telegram",
        channel_user_id=str(n),
        name=name,
        phone=f"7927000000{n}" if name else None,
        erased_at=local(11, 20) if erased else None,
        created_at=local(10, 1),
    )


async def add_lead(created: dt.datetime, manager: int | None = None, client=None, **fields) -> Lead:
    return await Lead.create(
        channel="telegram",
        client=client,
        manager_id=manager,
        created_at=created,
        updated_at=created,
        **fields,
    )


async def add_visit(
    lead, start, status, paid_rub=None, confirmed=False, client=None, master="anna"
) -> Appointment:
    paid = None if paid_rub is None else int(Decimal(paid_rub) * 100)
    return await appointment(
        start,
        status,
        local(10, 20),
        master=master,
        paid=paid,
        lead=lead,
        client=client,
        service_id="manicure",
        price_kop=150000,
        client_confirmed_at=start - dt.timedelta(hours=20) if confirmed else None,
    )


async def november_pay_data() -> None:
    masha = await add_lead(local(10, 25), MASHA_ID)
    petya = await add_lead(local(10, 26), PETYA_ID)
    nobody = await add_lead(local(10, 27))
    await add_visit(masha, local(11, 5), "came", 6000)
    await add_visit(masha, local(11, 6), "came", "5500.50")
    await add_visit(masha, local(11, 25), "confirmed", confirmed=True)
    await add_visit(masha, local(11, 10), "no_show", confirmed=True)
    await add_visit(masha, local(11, 26), "pending")
    await add_visit(masha, local(11, 20), "cancelled", confirmed=True)
    await add_visit(masha, local(12, 1, 0, 30), "came", 1000)
    await add_visit(masha, local(11, 30, 23, 30), "came", 1000)
    await add_visit(masha, local(10, 31, 23, 30), "came", 2000)
    await add_visit(petya, local(11, 12), "came", 3000)
    await add_visit(petya, local(11, 27), "confirmed")
    await add_visit(nobody, local(11, 14), "came", 7000)
