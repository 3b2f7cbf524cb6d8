"""A burst of website forms and missed-call notifications through the real intake endpoints.

    .venv/bin/python bench/intake_bench.py [--forms 1000] [--calls 1000] [--concurrency 50]

Every form (generic endpoint, JSON) and every Zadarma NOTIFY_END is posted over HTTP to the
product's server on an SQLite file, `--concurrency` at a time, each one also redelivered
once (as Tilda and telephony services retry); then the leads are counted: each must exist
exactly once. The baseline, in the same run and at the same concurrency, is a bare aiohttp
endpoint that answers 200 without doing anything.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import SystemClock
from bot.config import load_config
from bot.db import close_db, init_db
from bot.i18n import Texts
from bot.models import IntakeReceipt, Lead
from bot.settings import ROOT, load_settings
from bot.staffwork.intake import Intake
from handlers.forms import LEAD_PATH, Forms
from handlers.telephony import ZADARMA_PATH, Telephony, zadarma_signature

SECRET = "bench-secret"


def form(i: int) -> dict:
    return {
        "name": f"Клиент {i}",
        "phone": f"+7927{i:07d}",
        "service": "Маникюр",
        "consent": "Согласен на обработку персональных данных",
        "utm_source": "yandex",
    }


def call(i: int) -> tuple[dict, dict]:
    fields = {
        "event": "NOTIFY_END",
        "call_start": "2026-11-23 10:05:00",
        "pbx_call_id": f"in_{i}",
        "caller_id": f"7903{i:07d}",
        "called_did": "78462000000",
        "disposition": "no answer",
    }
    return fields, {"Signature": zadarma_signature(SECRET, fields)}


async def burst(url: str, requests: list[tuple[str, dict]], concurrency: int) -> list[float]:
    """Post every request (path, aiohttp kwargs), `concurrency` in flight; seconds each."""
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(path: str, kwargs: dict) -> float:
            async with gate:
                started = time.perf_counter()
                async with http.post(url + path, **kwargs) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{path}: {r.status} {await r.text()}")
                return time.perf_counter() - started

        return await asyncio.gather(*(one(p, k) for p, k in requests))


async def serve(register) -> tuple[web.AppRunner, str]:
    app = web.Application()
    register(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def line(name: str, seconds: list[float], wall: float) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return (
        f"| {name} | {len(ms)} | {len(ms) / wall:,.0f} | {statistics.median(ms):.1f} | {p99:.1f} |"
    )


async def main(forms: int, calls: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await init_db(f"sqlite://{Path(tmp) / 'bench.sqlite3'}")
        config = load_config(ROOT / "examples" / "salon.toml")
        settings = load_settings(forms_enabled=True, forms_rate_per_ip=10**9, zadarma_secret=SECRET)
        clock = SystemClock()
        intake = Intake(config, clock, Texts("ru"), frozenset({1}))
        forms_adapter, calls_adapter = Forms(settings, intake, clock), Telephony(settings, intake)
        product, url = await serve(
            lambda app: (forms_adapter.register(app), calls_adapter.register(app))
        )

        async def ok(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(text="ok")

        bare, bare_url = await serve(lambda app: app.router.add_post("/{tail:.*}", ok))
        form_requests = [(LEAD_PATH, {"json": form(i)}) for i in range(forms)] * 2
        call_requests = [
            (ZADARMA_PATH, {"data": f, "headers": h}) for f, h in map(call, range(calls))
        ] * 2
        print("| path | requests | req/s | p50 ms | p99 ms |")
        print("| --- | --: | --: | --: | --: |")
        for name, target, requests in (
            ("baseline: bare aiohttp 200", bare_url, form_requests),
            ("website form → lead (each posted twice)", url, form_requests),
            ("baseline: bare aiohttp 200", bare_url, call_requests),
            ("Zadarma missed call → lead (each twice)", url, call_requests),
        ):
            started = time.perf_counter()
            seconds = await burst(target, requests, concurrency)
            print(line(name, seconds, time.perf_counter() - started))
        leads = await Lead.all().count()
        forms_made = await Lead.filter(channel="form").count()
        receipts = await IntakeReceipt.all().count()
        print(
            f"\nleads: {forms_made} from {forms} forms, {leads - forms_made} from {calls} calls; "
            f"receipts {receipts}; exactly once: {forms_made == forms and leads == forms + calls}"
        )
        await product.cleanup()
        await bare.cleanup()
        await close_db()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.forms, args.calls, args.concurrency))
