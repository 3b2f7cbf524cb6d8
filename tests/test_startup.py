"""A clean start: the real `python -m bot` with a bad token, a refused token, no network, an
impossible database — one line naming the setting and exit 2, or a logged retry, never a
traceback or a silent hang."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import has
from tests.test_cli import run_cli

TOKEN = "314159:client"
UNWRITABLE = Path("/proc/sys")  # even root cannot create a file there


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("TOKEN")}
    return env | {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite://{tmp_path / 'start.sqlite3'}",
        "REDIS_URL": "",
        "BOT_TOKEN": TOKEN,
        **extra,
    }


async def _bot(tmp_path: Path, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=_env(tmp_path, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process, timeout: float) -> tuple[bytes, bytes]:
    """Its output once it exits; killed (and the test failed) if it hangs instead."""
    try:
        return await asyncio.wait_for(proc.communicate(), timeout=timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("token", ["not-a-token", "12345", "abc:def", "1:two words"])
def test_a_malformed_token_is_one_line_naming_the_setting(tmp_path, token):
    result = run_cli(tmp_path=tmp_path, BOT_TOKEN=token, TELEGRAM_API_URL="http://127.0.0.1:9")
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert line.startswith("error: BOT_TOKEN: not a Telegram bot token")
    assert token not in line


@pytest.mark.parametrize("setting", ["BOT_TOKEN", "STAFF_BOT_TOKEN"])
async def test_a_token_telegram_refuses_exits_with_one_line(tmp_path, setting):
    staff = "271828:staff"
    refused = TOKEN if setting == "BOT_TOKEN" else staff
    async with FakeBotApi() as api:
        api.fail_next("getMe", 401, description="Unauthorized", token=refused, times=5)
        proc = await _bot(tmp_path, TELEGRAM_API_URL=api.base_url, STAFF_BOT_TOKEN=staff)
        _, stderr = await finish(proc, 30)
    assert proc.returncode == 2
    line = _one_error_line(stderr.decode())
    assert line.startswith(f"error: {setting}: Telegram refused the token (401 Unauthorized)")


async def test_telegram_unreachable_at_start_is_retried_until_it_answers(tmp_path):
    port = _free_port()  # nothing listens here yet: connection refused
    proc = await _bot(tmp_path, TELEGRAM_API_URL=f"http://127.0.0.1:{port}")
    assert proc.stderr is not None
    seen: list[bytes] = []
    try:
        while sum(b"event=telegram_unreachable" in line for line in seen) < 2:
            seen.append(await asyncio.wait_for(proc.stderr.readline(), timeout=30))
        assert proc.returncode is None  # not fatal
        assert b"attempt=1" in b"".join(seen) and b"attempt=2" in b"".join(seen)
        async with FakeBotApi(port=port) as api:  # the network is back
            olga = FakeUser(501, "Ольга")
            api.send_command(TOKEN, olga, "/start")
            await api.wait_for_message(TOKEN, olga.id, has("152-ФЗ"), timeout=30)
            proc.send_signal(signal.SIGTERM)
            rest, _ = await finish(proc, 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    stderr = b"".join(seen).decode() + rest.decode()
    assert "Traceback" not in stderr and TOKEN not in stderr


def _database_cases() -> list[tuple[str, str]]:
    cases = [
        ("data/x.sqlite3", "DATABASE_URL: 'data/x.sqlite3' has no scheme; write e.g. sqlite://"),
        ("mysql://u:secret@db/priyom", "DATABASE_URL: 'mysql://' is not supported"),
        ("sqlite://", "DATABASE_URL: no file after sqlite://"),
    ]
    if importlib.util.find_spec("asyncpg") is None:  # installed for the PostgreSQL tests
        postgres = "postgres://u:secret@127.0.0.1:9/priyom"
        cases.append((postgres, "DATABASE_URL: postgres:// needs the asyncpg package"))
    return cases


@pytest.mark.parametrize(("url", "expected"), _database_cases())
def test_an_impossible_database_url_is_one_line(tmp_path, url, expected):
    command = "shell" if url.startswith("mysql") else "run"  # the shell opens it too
    result = run_cli(command, tmp_path=tmp_path, BOT_TOKEN=TOKEN, DATABASE_URL=url)
    assert result.returncode == 2
    assert _one_error_line(result.stderr).startswith(f"error: {expected}")
    assert "secret" not in result.stderr


def _unwritable(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere a mode allows: use a file system that won't
        return UNWRITABLE
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    return folder


def test_an_unwritable_database_folder_is_one_line_not_a_hang(tmp_path):
    folder = _unwritable(tmp_path)
    url = f"sqlite://{folder / 'priyom.sqlite3'}"
    result = run_cli(
        "run", tmp_path=tmp_path, BOT_TOKEN=TOKEN, DATABASE_URL=url, TELEGRAM_API_URL="http://x"
    )
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert line.startswith(f"error: DATABASE_URL: cannot write in the folder {folder} (")
