"""Shared fixtures: a migrated SQLite database per test, the example config, a fake clock."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.config import BusinessConfig, load_config
from bot.db import close_db, init_db
from bot.dialogs import DialogService

ROOT = Path(__file__).resolve().parent.parent
SAMARA = ZoneInfo("Europe/Samara")


@pytest.fixture
def config() -> BusinessConfig:
    return load_config(ROOT / "examples" / "salon.toml")


@pytest.fixture
def clock() -> FakeClock:
    # Monday 23 November 2026, 09:00 in Samara: the salon opens at 10:00.
    return FakeClock(dt.datetime(2026, 11, 23, 9, 0, tzinfo=SAMARA))


@pytest.fixture
async def db(tmp_path: Path):
    await init_db(f"sqlite://{tmp_path / 'priyom.sqlite3'}")
    yield tmp_path / "priyom.sqlite3"
    await close_db()


@pytest.fixture
def dialogs(db, config: BusinessConfig, clock: FakeClock) -> DialogService:
    return DialogService(config, clock)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis_server(binary: str, port: int, folder: Path) -> subprocess.Popen:
    """A redis-server without persistence on the port, accepting connections."""
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.02)  # startup of an external server, not a test's clock
    return proc


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[str]:
    """A real redis-server for the worker tests (`make test` installs it when missing)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is missing: run `make test` (it installs it) or "
            "`apt-get install redis-server`"
        )
    port = _free_port()
    proc = start_redis_server(binary, port, tmp_path_factory.mktemp("redis"))
    url = f"redis://127.0.0.1:{port}/0"
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def redis_url(redis_server: str) -> AsyncIterator[str]:
    """The test's own empty Redis database."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_server)
    await client.flushdb()
    await client.aclose()
    yield redis_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """PRIYOM_TEST_POSTGRES_URL if set, else a server of our own for this test session."""
    from tests.pg_server import MISSING, PostgresServer, find_bin_dir

    url = os.environ.get("PRIYOM_TEST_POSTGRES_URL", "")
    if url:
        yield url
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.fail(MISSING)
    server = PostgresServer(bin_dir)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def crm_on():
    """CRM sync switched on (to Bitrix24) for the test, off after it."""
    from bot.crm import queue

    queue.activate("bitrix24")
    yield
    queue.activate(None)
