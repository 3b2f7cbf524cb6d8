"""Four OS processes serve the WhatsApp webhook on one SQLite file: writers wait their turn
(WAL, a busy timeout, BEGIN IMMEDIATE), so no step is answered 500 and none is lost; and
starting together on a new file, they apply its migrations one at a time."""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from bot.db import close_db, init_db
from bot.models import Conversation
from tests.conftest import ROOT
from tests.fakes.graph_api import FakeGraphApi
from tests.whatsapp_helpers import WaRig, text

PROCESSES, CLIENTS = 4, 40


async def _spawn(db_url: str, graph_url: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.wa_webhook_worker",
        db_url,
        graph_url,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def _webhook_url(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    assert line.startswith(b"http://"), line
    return line.decode().strip()


async def _client(rigs: list[WaRig], number: int) -> None:
    """Five steps, each through another process, as a load balancer would spread them."""
    wa_id = f"7927{number:07d}"

    def rig(step: int) -> WaRig:
        return rigs[(number + step) % len(rigs)]

    replies = await rig(0).say(wa_id, text(wa_id, "Здравствуйте"))
    replies = await rig(1).choose(wa_id, replies, "✅ Согласен")
    replies = await rig(2).say(wa_id, text(wa_id, "1"))  # Маникюр, by its number
    replies = await rig(3).choose(wa_id, replies, "Нет, спасибо")
    await rig(4).choose(wa_id, replies, "Завтра")


async def test_four_processes_on_one_sqlite_file_lose_no_step(tmp_path):
    url = f"sqlite://{tmp_path / 'shared.sqlite3'}"  # new: the four migrate it together
    procs = []
    async with FakeGraphApi() as graph, aiohttp.ClientSession() as http:
        try:
            for _ in range(PROCESSES):
                procs.append(await _spawn(url, graph.base_url))
            webhooks = await asyncio.gather(*(_webhook_url(proc) for proc in procs))
            rigs = [WaRig(graph, None, webhook, http) for webhook in webhooks]  # type: ignore[arg-type]
            await asyncio.gather(*(_client(rigs, n) for n in range(CLIENTS)))
        finally:
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.close()
            for proc in procs:
                try:
                    await asyncio.wait_for(proc.wait(), timeout=30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
                    raise
    await init_db(url)
    try:
        conversations = await Conversation.filter(channel="whatsapp")
    finally:
        await close_db()
    assert len(conversations) == CLIENTS
    assert {c.state.get("step") for c in conversations} == {"slot"}, [
        c.state for c in conversations
    ]
