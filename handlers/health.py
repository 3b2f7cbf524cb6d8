"""Operations endpoints on the product's aiohttp server: `/healthz`, `/readyz`, `/metrics`.

`/healthz` does no I/O (a stuck database must not get a live process restarted);
`/readyz` says whether this instance can serve: a load balancer routes only to ready ones.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tortoise import Tortoise
from tortoise.functions import Count, Min

from bot import metrics
from bot.clock import Clock
from bot.db import MIGRATIONS
from bot.models import Outbox, OutboxStatus
from bot.settings import Settings

log = logging.getLogger("priyom.ops")
CHECK_SECONDS = 2.0  # a readiness probe must answer before the prober gives up


class Ops:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def register(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        problems = await self.problems()
        if problems:
            log.warning("not_ready", extra={"problems": "; ".join(problems)})
        status = "ready" if not problems else "not ready"
        return web.json_response(
            {"status": status, "problems": problems}, status=503 if problems else 200
        )

    async def problems(self) -> list[str]:
        url, redis_url = self.settings.database_url, self.settings.redis_url
        checks = {"database": lambda: _database(url), "migrations": _migrations}
        if redis_url:
            checks["redis"] = lambda: _redis(redis_url)
        found = []
        for name, check in checks.items():
            try:
                problem = await asyncio.wait_for(check(), CHECK_SECONDS)
            except Exception as exc:  # unreachable, timed out, refused…
                problem = f"{name}: unreachable ({type(exc).__name__})"
            if problem:
                found.append(problem)
                if name == "database":  # nothing else can be read then
                    break
        return found

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            await outbox_gauges(self.clock)
        except Exception:  # the other families are still worth a scrape
            log.exception("metrics_outbox_failed")
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def outbox_gauges(clock: Clock) -> None:
    """The shared backlog, read at scrape time by one aggregate query."""
    now = clock.now()
    row = (
        await Outbox.filter(status=OutboxStatus.PENDING, due_at__lte=now)
        .annotate(n=Count("id"), oldest=Min("due_at"))
        .values("n", "oldest")
    )[0]
    metrics.OUTBOX_BACKLOG.set(row["n"] or 0)
    oldest = row["oldest"]
    metrics.OUTBOX_OLDEST.set(max((now - oldest).total_seconds(), 0) if oldest else 0)


async def _database(url: str) -> str:
    if url.startswith("sqlite://") and ":memory:" not in url:
        path = Path(url.removeprefix("sqlite://").split("?")[0])
        if not path.exists():  # an open connection keeps working on a deleted file
            return f"database: the file {path.name} is gone"
    await Tortoise.get_connection("default").execute_query("SELECT 1")
    return ""


async def _migrations() -> str:
    from aerich.models import Aerich

    applied = set(await Aerich.filter(app="models").values_list("version", flat=True))
    files = {p.name for p in (MIGRATIONS / "models").glob("*.py") if p.name[0].isdigit()}
    missing = sorted(files - applied)
    if missing:
        return f"migrations: {len(missing)} not applied ({', '.join(missing)})"
    return ""


async def _redis(url: str) -> str:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=CHECK_SECONDS)
    try:
        await client.ping()
    finally:
        await client.aclose()
    return ""
