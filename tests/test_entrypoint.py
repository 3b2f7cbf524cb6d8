"""`python -m bot` as a real process: both bots against the fake Bot API, one SIGTERM stops all."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from tests.conftest import ROOT, _free_port
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import has

CLIENT, STAFF = "314159:client", "271828:staff"


async def test_runs_both_bots_and_stops_on_sigterm(tmp_path):
    async with FakeBotApi() as api:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": CLIENT,
            "STAFF_BOT_TOKEN": STAFF,
            "TELEGRAM_API_URL": api.base_url,
            "DATABASE_URL": f"sqlite://{tmp_path / 'run.sqlite3'}",
            "OWNER_TELEGRAM_IDS": "9001",
            "REDIS_URL": "",
            "WEBHOOK_PORT": str(_free_port()),  # /healthz and /metrics are always served
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            olga, owner = FakeUser(501, "Ольга"), FakeUser(9001, "Владелец")
            api.send_command(CLIENT, olga, "/start src-vk")
            await api.wait_for_message(CLIENT, olga.id, has("152-ФЗ"), timeout=30)
            api.send_command(STAFF, owner, "/help")
            await api.wait_for_message(STAFF, owner.id, timeout=10)
            assert api.calls(CLIENT, "setMyCommands")
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout=20)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert b"event=stopped" in stderr
