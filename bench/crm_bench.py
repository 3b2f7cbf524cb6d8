"""CRM sync throughput against the local Bitrix24 portal's own limit (tests/fakes).

    python bench/crm_bench.py [--rate 10] [--bucket 50] [--leads 3000] [--baseline-leads 60]
                              [--amo-leads 200]

The portal admits `bucket` requests at once, then `rate` a second (Bitrix24: 2/s, bucket 50;
the default rate here is 10/s so a run takes seconds — the figure that matters is the share
of the allowed rate, which does not depend on it). In T seconds the portal allows at most
bucket + rate × T requests; the sync's share of that is printed with the leads a second, for
the batched sync (50 commands a request) and, measured in the same run, for a baseline that
sends one lead a request.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tortoise.transactions import in_transaction  # noqa: E402

from bot.clock import FakeClock  # noqa: E402
from bot.crm import queue  # noqa: E402
from bot.crm.models import CrmTask, TaskStatus  # noqa: E402
from bot.crm.stages import (  # noqa: E402
    BITRIX24_DEFAULT,
    default_stages,
    parse_stage_map,
)
from bot.crm.sync import sync_due  # noqa: E402
from bot.crm.tokens import Grant, store_grant  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.models import Client  # noqa: E402
from bot.staffwork.leads import open_lead  # noqa: E402
from handlers.amocrm import AmoCrm  # noqa: E402
from handlers.amocrm_api import AmoApi  # noqa: E402
from handlers.bitrix24 import Bitrix24Crm  # noqa: E402
from handlers.bitrix24_api import BATCH_LIMIT, Bitrix24Api  # noqa: E402
from tests.fakes.amocrm_api import CLIENT_ID, CLIENT_SECRET, PIPELINE, STAGE_MAP, FakeAmo  # noqa: E402
from tests.fakes.bitrix24_api import FakeBitrix24  # noqa: E402


async def leads(count: int, clock: FakeClock) -> None:
    async with in_transaction():
        for n in range(count):
            client = await Client.create(
                channel="telegram",
                channel_user_id=str(n),
                name=f"Client {n}",
                phone=f"+7900{n:07d}",
                created_at=clock.now(),
            )
            await open_lead(
                channel="telegram", client_id=client.id, source="avito", campaign="x",
                now=clock.now(),
            )  # fmt: skip


async def run(name: str, count: int, batch: int, rate: float, bucket: int, folder: str) -> None:
    clock = FakeClock(dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC))
    await init_db(f"sqlite://{folder}/{name}.sqlite3")
    await leads(count, clock)
    async with FakeBitrix24(rate=rate, bucket=bucket) as portal:
        port = Bitrix24Crm(
            Bitrix24Api(portal.webhook_url, rate, bucket), BITRIX24_DEFAULT, batch_size=batch
        )
        started = time.perf_counter()
        while await CrmTask.filter(status=TaskStatus.PENDING).exists():
            await sync_due(port, clock)
        elapsed = time.perf_counter() - started
        await port.close()
    await close_db()
    allowed = bucket + rate * elapsed
    share = portal.requests / allowed * 100
    print(
        f"{name:<28} {count:>5} leads in {elapsed:6.1f} s = {count / elapsed:7.1f} leads/s; "
        f"{portal.requests} requests ({portal.refused} refused) of {allowed:.0f} allowed "
        f"= {share:5.1f} % of the limit"
    )


async def run_amo(count: int, folder: str) -> None:
    """amoCRM: 7 requests a second in any second (429 beyond); a push costs a contact search,
    and 50 leads with their contacts share one leads/complex request."""
    clock = FakeClock(dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC))
    queue.activate("amocrm")
    await init_db(f"sqlite://{folder}/amocrm.sqlite3")
    await leads(count, clock)
    async with FakeAmo() as account:
        pair = account.issue()
        await store_grant(
            "amocrm", Grant(pair["access_token"], pair["refresh_token"], 86400), clock.now()
        )
        api = AmoApi(account.url, CLIENT_ID, CLIENT_SECRET, "https://x.example/amo", clock)
        port = AmoCrm(api, parse_stage_map(STAGE_MAP, default_stages("amocrm")), PIPELINE)
        started = time.perf_counter()
        while await CrmTask.filter(status=TaskStatus.PENDING).exists():
            await sync_due(port, clock)
        elapsed = time.perf_counter() - started
        await port.close()
    await close_db()
    allowed = account.rate * (elapsed + 1)
    share = account.requests / allowed * 100
    print(
        f"{'amoCRM, 7 requests/s':<28} {count:>5} leads in {elapsed:6.1f} s = "
        f"{count / elapsed:7.1f} leads/s; {account.requests} requests ({account.refused} "
        f"refused) of {allowed:.0f} allowed = {share:5.1f} % of the limit"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--bucket", type=int, default=50)
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--baseline-leads", type=int, default=60)
    parser.add_argument("--amo-leads", type=int, default=0, help="also amoCRM (0: skip)")
    args = parser.parse_args()
    queue.activate("bitrix24")
    print(f"portal limit: {args.rate:g} requests/s, bucket {args.bucket}")
    with tempfile.TemporaryDirectory() as folder:
        await run(
            "baseline: a lead a request", args.baseline_leads, 1, args.rate, args.bucket, folder
        )
        await run(
            f"batched: {BATCH_LIMIT} a request",
            args.leads,
            BATCH_LIMIT,
            args.rate,
            args.bucket,
            folder,
        )
        if args.amo_leads:
            await run_amo(args.amo_leads, folder)


if __name__ == "__main__":
    asyncio.run(main())
