"""Operations: /healthz, /readyz and /metrics over HTTP; backup and restore; migrate once."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from contextlib import closing

import aiohttp
import pytest
from aerich.models import Aerich
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.backup import BackupError, backup, backup_sqlite
from bot.delivery.outbox import Message, enqueue
from bot.models import Outbox
from bot.settings import load_settings
from handlers.health import Ops
from tests.conftest import ROOT
from tests.fakes.local_server import serving

FAMILIES = {
    "priyom_updates_handled",
    "priyom_update_seconds",
    "priyom_messages_sent",
    "priyom_messages_failed",
    "priyom_outbox_backlog",
    "priyom_outbox_oldest_due_seconds",
    "priyom_sla_breaches",
    "priyom_model_calls",
    "priyom_model_fallbacks",
}


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


@pytest.fixture
async def ops_url(db, clock):
    ops = Ops(load_settings(database_url=f"sqlite://{db}"), clock)
    async with serving(ops.register) as url:
        yield url


async def test_healthz_and_readyz_answer_ok(ops_url):
    assert await _get(f"{ops_url}/healthz") == (200, '{"status": "ok"}')
    status, body = await _get(f"{ops_url}/readyz")
    assert status == 200, body


async def test_readyz_is_503_when_the_database_file_is_gone(ops_url, db):
    db.unlink()
    status, body = await _get(f"{ops_url}/readyz")
    assert status == 503
    assert "priyom.sqlite3 is gone" in body
    assert (await _get(f"{ops_url}/healthz"))[0] == 200  # alive all the same: no I/O


async def test_readyz_is_503_when_migrations_are_behind(ops_url):
    await Aerich.filter(version__startswith="4_").delete()  # as if run before migration 4
    status, body = await _get(f"{ops_url}/readyz")
    assert status == 503
    assert "migrations: 1 not applied (4_20261123000003_channels.py)" in body


async def test_readyz_checks_redis_when_configured(db, clock):
    settings = load_settings(database_url=f"sqlite://{db}", redis_url="redis://127.0.0.1:1/0")
    async with serving(Ops(settings, clock).register) as url:
        status, body = await _get(f"{url}/readyz")
    assert status == 503
    assert "redis: unreachable" in body


async def test_metrics_after_a_handled_message(ops_url, dialogs, clock):
    from scenarios.types import Input, InputKind

    before = metrics.UPDATES.labels("telegram")._value.get()
    await dialogs.handle("telegram", 501, Input(InputKind.COMMAND, "start", name="Ольга"))
    now = clock.now()
    for chat, due_in in ((901, -90), (902, -5), (903, 3600)):
        await enqueue(
            bot="client",
            chat_id=chat,
            kind="notice",
            message=Message("текст"),
            dedup_key=f"ops:{chat}",
            now=now,
            due_at=now + dt.timedelta(seconds=due_in),
        )
    status, body = await _get(f"{ops_url}/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body)}
    assert families.keys() >= FAMILIES
    assert metrics.UPDATES.labels("telegram")._value.get() == before + 1
    samples = {s.name: s.value for f in families.values() for s in f.samples}
    assert samples["priyom_outbox_backlog"] == 2  # the third is not due yet
    assert samples["priyom_outbox_oldest_due_seconds"] == pytest.approx(90, abs=1)
    assert await Outbox.all().count() >= 3


async def test_backup_then_restore_gives_the_same_rows(db, dialogs, clock, tmp_path):
    from scenarios.types import Input, InputKind

    await dialogs.handle("telegram", 501, Input(InputKind.COMMAND, "start", name="Ольга"))
    now = dt.datetime(2026, 11, 29, 18, 30, 5, tzinfo=dt.UTC)
    copy = backup_sqlite(f"sqlite://{db}", tmp_path / "backups", now)
    assert copy.name == "priyom-20261129-183005.sqlite3"
    query = "SELECT * FROM conversation ORDER BY id"
    with closing(sqlite3.connect(db)) as live, closing(sqlite3.connect(copy)) as restored:
        rows = live.execute(query).fetchall()
        assert rows and restored.execute(query).fetchall() == rows
        tables = "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
        assert restored.execute(tables).fetchall() == live.execute(tables).fetchall()


def test_backup_of_postgres_prints_pg_dump_and_bad_urls_are_refused(tmp_path):
    now = dt.datetime(2026, 11, 29, 18, 30, tzinfo=dt.UTC)
    line = backup("postgres://u:p@db/priyom", tmp_path, now)
    assert "pg_dump --format=custom" in line and "priyom-20261129-183000.dump" in line
    with pytest.raises(BackupError):
        backup(f"sqlite://{tmp_path / 'missing.sqlite3'}", tmp_path, now)


def test_migrate_command_applies_migrations_once_and_backup_command_copies(tmp_path):
    """The real commands, as a deployment runs them (a child process: `main` sets up logging)."""
    db = tmp_path / "cli.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite://{db}"}

    def bot(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()[-1000:]
        return done.stdout.decode()

    assert "migrations applied" in bot("migrate")
    with closing(sqlite3.connect(db)) as conn:
        versions = {v for (v,) in conn.execute("SELECT version FROM aerich")}
    assert "4_20261123000003_channels.py" in versions
    assert "backup written" in bot("backup", str(tmp_path / "copies"))
    [copy] = (tmp_path / "copies").glob("priyom-*.sqlite3")
    with closing(sqlite3.connect(copy)) as conn:
        assert {v for (v,) in conn.execute("SELECT version FROM aerich")} == versions


async def test_instances_with_migrations_off_leave_the_schema_alone(tmp_path):
    from bot.db import close_db, init_db

    db = tmp_path / "instance.sqlite3"
    await init_db(f"sqlite://{db}", migrate=False)
    await close_db()
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_sentry_starts_only_with_a_dsn():
    """In a child process: Sentry hooks logging, which this test run must not inherit."""
    code = (
        "import sentry_sdk; from bot.ops_cli import init_sentry; "
        "assert not init_sentry(''); assert not sentry_sdk.get_client().is_active(); "
        "assert init_sentry('https://key@127.0.0.1:9/1'); "
        "assert sentry_sdk.get_client().is_active()"
    )
    pytest.importorskip("sentry_sdk", reason="sentry-sdk is optional: pip install 'priyom[sentry]'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-1000:]
