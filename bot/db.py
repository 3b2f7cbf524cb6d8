"""Database start-up: tortoise init and aerich migrations applied at start."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bot import chat_lock
from bot.settings import ROOT

MODELS = [
    "bot.models",
    "bot.staff_models",
    "bot.schedule_models",
    "bot.coach.models",
    "bot.crm.models",
    "bot.payments.models",
    "bot.waitlist_models",
    "bot.cache_models",
]
MIGRATIONS = ROOT / "migrations"


def with_sqlite_defaults(url: str) -> str:
    """WAL (tortoise's default) with synchronous=NORMAL: no fsync per commit, still safe
    against corruption; a power cut may lose the last commits, never a half-written one."""
    if not url.startswith("sqlite://") or "synchronous=" in url:
        return url
    return url + ("&" if "?" in url else "?") + "synchronous=NORMAL"


ENGINES = {"sqlite": "bot.db_sqlite", "asyncpg": "bot.db_postgres"}


def connection_config(url: str) -> str | dict:
    """SQLite URLs get our client (BEGIN IMMEDIATE, a busy timeout): the one place that
    makes several processes on one file wait their turn instead of failing. PostgreSQL
    URLs get one that skips asyncpg's per-query connection reset (bot.db_postgres)."""
    url = with_sqlite_defaults(url)
    info = expand_db_url(url)
    engine = ENGINES.get(info["engine"].rsplit(".", 1)[-1])
    if engine is None:
        return url
    info["engine"] = engine
    return info


def tortoise_config(url: str) -> dict:
    return {
        "connections": {"default": connection_config(url)},
        "apps": {"models": {"models": [*MODELS, "aerich.models"], "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


# aerich's CLI reads this (pyproject [tool.aerich]); the URL only matters for `aerich migrate`.
TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "sqlite://data/aerich.sqlite3"))


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite://") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite://").split("?")[0])
    return None


def _ensure_sqlite_folder(url: str) -> None:
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


async def init_db(url: str, migrate: bool = True) -> None:
    """Open the database and bring its schema up to date with the checked-in migrations
    (`migrate=False`: instances that leave that to `python -m bot migrate`, run once)."""
    from aerich import Command

    _ensure_sqlite_folder(url)
    # tortoise caches prepared INSERTs per connection name, not per dialect: a process
    # that reopens "default" on another database (tests do) must not reuse SQLite's SQL.
    EXECUTOR_CACHE.clear()
    config = tortoise_config(url)
    await Tortoise.init(config=config)
    if not migrate:
        return
    command = Command(tortoise_config=config, app="models", location=str(MIGRATIONS))
    async with _migration_lock(url):
        await command.init()
        await command.upgrade(run_in_transaction=True)


@contextlib.asynccontextmanager
async def _migration_lock(url: str) -> AsyncIterator[None]:
    """Processes starting together on one database would each apply the same migrations
    (aerich reads what is applied before it locks): one at a time, the others then find
    nothing left to do."""
    path = _sqlite_path(url)
    if path is None:  # PostgreSQL: an advisory lock, so instances starting together wait
        async with chat_lock.advisory(chat_lock.MIGRATION_KEY):
            yield
        return
    import fcntl

    with open(f"{path}.migrate-lock", "a") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def close_db() -> None:
    await chat_lock.close()
    await Tortoise.close_connections()
